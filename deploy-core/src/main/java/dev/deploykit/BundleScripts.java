package dev.deploykit;

/**
 * Where the lifecycle scripts of a bundle published from a source come from: a directory of the
 * repository ({@code deploy/install}, {@code deploy/upgrade}, ... at the published revision), or a
 * script set saved in {@link DeployKit#scriptSets()} whose scripts are named after the phases.
 */
public sealed interface BundleScripts {
    /** The default: the repository's {@code deploy/} directory. */
    static BundleScripts defaults() {
        return directory("deploy");
    }

    /** Files {@code dir/install}, {@code dir/upgrade}, ... of the published revision. */
    static BundleScripts directory(String dir) {
        return new Directory(dir);
    }

    /** The scripts of saved script set {@code name} {@code version}, each named after a phase ({@code install} required). */
    static BundleScripts scriptSet(String name, String version) {
        return new Stored(name, version);
    }

    /** Scripts from a directory of the repository. */
    record Directory(String path) implements BundleScripts {
        public Directory {
            if (path == null || path.isBlank() || path.startsWith("/") || java.util.List.of(path.split("/")).contains("..")) {
                throw new IllegalArgumentException("scripts directory must be a relative path inside the repository, but was "
                        + Checks.quote(path));
            }
            path = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        }
    }

    /** Scripts from a saved script set. */
    record Stored(String name, String version) implements BundleScripts {
        public Stored {
            Checks.id("script set name", name);
            Checks.notNull("script set version", version);
        }
    }
}
