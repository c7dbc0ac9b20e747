package dev.deploykit.format;

import dev.deploykit.PackageFormatException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * Checks the entries of an archive before anything is unpacked, refusing each bad one with a
 * {@link PackageFormatException} that names it. Always: no absolute names, no {@code ..} segment in
 * a name or hard link target. {@linkplain #confined() Confined} archives (script bundles, unpacked
 * into a directory of their own) also: no device or fifo, a symlink target is relative, may climb
 * only with leading {@code ..} segments and must land inside the archive, and no entry may be
 * written through a symlink that the archive itself creates. {@linkplain #payload() Payload} archives
 * (deb data, installed at the root by dpkg) may hold absolute symlinks and device nodes, as real
 * packages do. A confined archive's paths are kept until {@link #finish()}, so they may total at most
 * {@link #MAX_KEPT_PATH_CHARS} characters. Not thread-safe: one per archive.
 */
public final class ArchivePaths {
    /** How many characters of entry paths a confined archive may hold in all, so that checking it runs in bounded memory. */
    public static final int MAX_KEPT_PATH_CHARS = 16 * 1024 * 1024;
    private final boolean confined;
    private long keptChars;
    private final Set<String> paths = new HashSet<>();
    private final Set<String> symlinks = new HashSet<>();

    private ArchivePaths(boolean confined) {
        this.confined = confined;
    }

    /** Rules for an archive unpacked into, and confined to, its own directory. */
    public static ArchivePaths confined() {
        return new ArchivePaths(true);
    }

    /** Rules for a package payload that its package manager installs relative to the root. */
    public static ArchivePaths payload() {
        return new ArchivePaths(false);
    }

    /** The entry's normalized relative path. */
    public String check(TarArchiveEntry entry) {
        String name = entry.getName();
        String path = relative(name, "entry");
        if (!confined) {
            if (entry.isLink()) {
                relative(entry.getLinkName(), "hard link target of '" + name + "'");
            }
            return path;
        }
        if (entry.isSymbolicLink()) {
            checkSymlink(name, path, entry.getLinkName());
            symlinks.add(path);
        } else if (entry.isLink()) {
            relative(entry.getLinkName(), "hard link target of '" + name + "'");
        } else if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
            throw new PackageFormatException("entry '" + name + "' is a device or fifo; bundles hold files, dirs and links only");
        }
        keptChars += path.length();
        if (keptChars > MAX_KEPT_PATH_CHARS) {
            throw new PackageFormatException("entry paths total more than " + MAX_KEPT_PATH_CHARS + " characters, the limit for an archive");
        }
        paths.add(path);
        return path;
    }

    /** After the last entry: refuses entries that would be written through a symlink of the archive. */
    public void finish() {
        for (String path : paths) {
            for (Path p = Path.of(path).getParent(); p != null; p = p.getParent()) {
                if (symlinks.contains(p.toString())) {
                    throw new PackageFormatException("entry '" + path + "' would be written through the symlink '" + p + "'");
                }
            }
        }
    }

    private static void checkSymlink(String name, String path, String target) {
        if (target.isEmpty() || target.startsWith("/")) {
            throw new PackageFormatException("entry '" + name + "' is a symlink to the absolute path '" + target + "'");
        }
        boolean climbing = true;
        for (String segment : target.split("/")) {
            if (segment.equals("..") && !climbing) {
                throw new PackageFormatException("entry '" + name + "' is a symlink to '" + target
                        + "'; '..' is allowed only at the start of a link target");
            }
            climbing &= segment.equals("..");
        }
        Path parent = Path.of(path).getParent();
        Path resolved = (parent == null ? Path.of(target) : parent.resolve(target)).normalize();
        if (resolved.startsWith("..")) {
            throw new PackageFormatException("entry '" + name + "' is a symlink to '" + target + "', outside the bundle");
        }
    }

    /** {@code name} normalized as a relative path; absolute names and {@code ..} segments are refused. */
    public static String relative(String name, String what) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\0") || name.contains("\\")) {
            throw new PackageFormatException(what + " '" + name + "' is absolute or malformed");
        }
        if (List.of(name.split("/")).contains("..")) {
            throw new PackageFormatException(what + " '" + name + "' contains '..'");
        }
        String normalized = Path.of(name).normalize().toString();
        return normalized.startsWith("./") ? normalized.substring(2) : normalized;
    }
}
