package dev.deploykit.format;

import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.format.deb.DebFormat;
import dev.deploykit.format.rpm.RpmFormat;
import dev.deploykit.format.script.ScriptBundleFormat;
import dev.deploykit.spi.PackageFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Inspects a file in a JVM of its own with a 64 MiB heap, so a test sees what a hostile file does
 * to memory: {@link #main} prints what happened and exits 0 (read), 2 (refused), 3 (out of memory)
 * or 4 (anything else).
 */
public final class SmallHeap {
    public static final int READ = 0;
    public static final int REFUSED = 2;
    public static final int OUT_OF_MEMORY = 3;

    private SmallHeap() {}

    public record Result(int exitCode, String output) {}

    /** Runs {@code format} ("deb", "rpm" or "script") on {@code file} in {@code java -Xmx64m}. */
    public static Result inspect(String format, Path file) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx64m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                SmallHeap.class.getName(), format, file.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("inspecting " + file + " did not end: " + output);
        }
        return new Result(p.exitValue(), output);
    }

    public static void main(String[] args) {
        PackageFormat format = switch (args[0]) {
            case "deb" -> DebFormat.create();
            case "rpm" -> RpmFormat.create();
            case "script" -> ScriptBundleFormat.create();
            default -> throw new IllegalArgumentException("no format " + args[0]);
        };
        int code;
        try {
            PackageMetadata m = format.inspect(Path.of(args[1]));
            System.out.println("read " + m.name() + " " + m.version());
            code = READ;
        } catch (PackageFormatException e) {
            System.out.println("refused: " + e.getMessage());
            code = REFUSED;
        } catch (OutOfMemoryError e) {
            System.out.println("out of memory: " + e.getMessage());
            code = OUT_OF_MEMORY;
        } catch (Throwable t) {
            System.out.println("failed: " + t);
            code = 4;
        }
        System.out.flush();
        Runtime.getRuntime().halt(code);
    }
}
