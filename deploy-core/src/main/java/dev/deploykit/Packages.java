package dev.deploykit;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The package repository. Obtained from {@link DeployKit#packages()}. Thread-safe. */
public interface Packages {
    /**
     * Publishes a package file: detects its format, reads its metadata from the file, and stores the
     * artifact once by digest. Publishing identical bytes again returns the existing package; other
     * bytes under a published name and version are refused. A corrupt or malicious file is a
     * {@link PackageFormatException} and nothing is stored.
     */
    Package publish(Path file);

    /**
     * Publishes a package read from {@code content} (an upload, say), named {@code fileName} since
     * formats are told apart by name: the bytes go once into the artifact store's staging area,
     * hashed on the way, and are kept only if they are a valid package. Otherwise as {@link #publish(Path)}.
     */
    Package publish(InputStream content, String fileName);

    Optional<Package> get(String name, String version);

    /** Published versions of {@code name}, lowest first by the format's version order. */
    List<Package> versions(String name);

    /** Names of all published packages, sorted. */
    List<String> names();

    /**
     * Deletes a version that nothing uses: refused while a server's inventory has it installed or an
     * unfinished deployment targets it (a {@link ConflictException}). Its artifact is deleted when no
     * other version shares it.
     */
    boolean delete(String name, String version);
}
