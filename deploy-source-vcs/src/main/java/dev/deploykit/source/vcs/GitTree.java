package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.format.ArchivePaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * The tree of a commit, read straight from the object database (no work tree, no {@code .git}):
 * written into a directory, or looked over for submodules. Blobs are streamed, so memory stays
 * bounded whatever their size. Git LFS pointers are refused: what they point to is not in the
 * repository, and shipping the pointer text instead of the file would be a silent wrong deploy.
 */
final class GitTree {
    private static final byte[] LFS_POINTER = "version https://git-lfs.github.com/spec/".getBytes(StandardCharsets.US_ASCII);
    /** LFS pointer files are about 130 bytes; the spec caps them at 1024. */
    private static final int MAX_LFS_POINTER = 1024;

    private GitTree() {}

    /** Paths and commit ids of the submodules in {@code commit}'s tree: they are not shipped. */
    static List<String> submodules(Repository repo, RevCommit commit) throws IOException {
        List<String> found = new ArrayList<>();
        try (TreeWalk walk = new TreeWalk(repo)) {
            walk.addTree(commit.getTree());
            walk.setRecursive(true);
            while (walk.next()) {
                if (walk.getFileMode(0) == FileMode.GITLINK) {
                    found.add(walk.getPathString() + "@" + walk.getObjectId(0).abbreviate(7).name());
                }
            }
        }
        return found;
    }

    static void write(Repository repo, RevCommit commit, Path into, TreeBudget budget, String location) throws IOException {
        try (TreeWalk walk = new TreeWalk(repo)) {
            walk.addTree(commit.getTree());
            walk.setRecursive(true);
            while (walk.next()) {
                String path = ArchivePaths.relative(walk.getPathString(), "tree entry");
                Path target = into.resolve(path);
                Files.createDirectories(target.getParent());
                FileMode mode = walk.getFileMode(0);
                if (mode == FileMode.GITLINK) {
                    // as git archive does: the submodule's directory, empty
                    Files.createDirectories(target);
                    budget.add(path, 0);
                    continue;
                }
                ObjectLoader blob = repo.open(walk.getObjectId(0), Constants.OBJ_BLOB);
                budget.add(path, blob.getSize());
                if (mode == FileMode.SYMLINK) {
                    Files.createSymbolicLink(target, Path.of(new String(blob.getBytes(4096), StandardCharsets.UTF_8)));
                } else if (mode == FileMode.REGULAR_FILE || mode == FileMode.EXECUTABLE_FILE) {
                    copy(blob, target, path, commit, location);
                    if (mode == FileMode.EXECUTABLE_FILE) {
                        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                    }
                } else {
                    throw new SourceException(location, SourceException.Reason.REFUSED, path + " has git file mode " + mode
                            + ", which is not a file, link or submodule");
                }
            }
        }
    }

    private static void copy(ObjectLoader blob, Path target, String path, RevCommit commit, String location) throws IOException {
        try (InputStream in = blob.openStream(); OutputStream out = Files.newOutputStream(target)) {
            byte[] head = in.readNBytes(LFS_POINTER.length);
            if (blob.getSize() <= MAX_LFS_POINTER && java.util.Arrays.equals(head, LFS_POINTER)) {
                throw new SourceException(location, SourceException.Reason.REFUSED, path + " at " + commit.abbreviate(7).name()
                        + " is a Git LFS pointer; Git LFS is not supported: commit the file itself, or ship it as a package of its own");
            }
            out.write(head);
            in.transferTo(out);
        }
    }
}
