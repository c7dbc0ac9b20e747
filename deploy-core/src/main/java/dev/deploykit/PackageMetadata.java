package dev.deploykit;

import java.util.Map;

/**
 * What a package file says about itself, read from the file by its {@code PackageFormat}.
 *
 * @param name        package name
 * @param version     version in the format's grammar
 * @param description one-line description, may be empty
 * @param fields      every other field the format exposes (deb control fields, rpm tags, bundle
 *                    manifest keys, the lifecycle scripts a bundle carries)
 */
public record PackageMetadata(String name, String version, String description, Map<String, String> fields) {
    public PackageMetadata {
        description = description == null ? "" : description;
        fields = Map.copyOf(fields);
    }
}
