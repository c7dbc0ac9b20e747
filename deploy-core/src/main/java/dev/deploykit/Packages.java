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

    /**
     * Publishes revision {@code ref} of the source registered as {@code sourceName}
     * ({@link DeployKit#sources()}) as a script bundle named after the source: a tag
     * ({@code refs/tags/v2.3.1}), a branch, a commit, or for Subversion a path with an optional
     * {@code @revision}. The version is derived from the revision (see {@code docs/sources.md}) and
     * the commit's author, message and time are {@code source.*} fields of the package. The same
     * revision published again returns the same package; a version already published from another
     * revision (a moved tag) is a {@link ConflictException}. A {@link SourceException} (bad
     * credentials, unknown ref, unreachable server) or a refused tree publishes nothing.
     */
    Package publishFrom(String sourceName, String ref);

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
