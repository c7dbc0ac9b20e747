package dev.deploykit.format.script;

import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.PackageFormatContract;
import java.nio.file.Path;
import java.util.List;

class ScriptBundleContractTest extends PackageFormatContract {
    @Override
    protected PackageFormat format() {
        return ScriptBundleFormat.create();
    }

    @Override
    protected Path build(Path dir, String name, String version) {
        return ScriptBundle.builder(name, version).script("install", "true").file("payload.txt", "x".repeat(4096))
                .writeTo(dir.resolve(name + "-" + version + ".tar.gz"));
    }

    @Override
    protected List<String> ascendingVersions() {
        return List.of("1.0~rc1", "1.0", "1.0-1", "1.0a", "1.10", "1:0.1");
    }
}
