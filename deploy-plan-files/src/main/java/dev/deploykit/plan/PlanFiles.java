package dev.deploykit.plan;

import dev.deploykit.DeployPlan;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads and writes {@link DeployPlan}s as YAML or JSON plan files, one format described in
 * {@code docs/plan-files.md} and {@code plan.schema.json} (a resource next to this class, also
 * {@link #schema()}). What {@link #write} writes, {@link #read} reads back as an equal plan.
 *
 * <pre>{@code
 * DeployPlan plan = PlanFiles.read(Path.of("deploy/web.yaml"));   // .json is JSON, anything else YAML
 * PlanFiles.write(plan, Path.of("deploy/web.json"));
 * String stored = PlanFiles.toJson(plan);
 * DeployPlan same = PlanFiles.fromJson(stored);                   // same.equals(plan)
 * }</pre>
 *
 * <p>Every error while reading is a {@link PlanFileException} naming the file, line, column and
 * field: {@code web.yaml:7:10 rollout.batch: must be in 1%..100%, but was 150%}. Files over
 * {@link #MAX_BYTES} are refused before they are read, and so is nesting deeper than
 * {@link #MAX_DEPTH}, YAML anchors, aliases and tags, duplicate keys and unknown fields. To have
 * errors found when the plan is resolved against a {@code DeployKit} (an unknown group, a package
 * that is not published) point at the file too, use {@link #load} and {@link PlanFile#start}.
 *
 * <p>Thread-safe: static methods over immutable state.
 */
public final class PlanFiles {
    /** The largest plan file read or written: 1 MiB (bytes of a file; characters of a string). */
    public static final int MAX_BYTES = 1024 * 1024;
    /** The deepest nesting of maps and lists read; a plan needs fewer than ten. */
    public static final int MAX_DEPTH = 64;

    private PlanFiles() {}

    /** The plan in {@code file}: JSON when its name ends in {@code .json}, else YAML. */
    public static DeployPlan read(Path file) {
        return load(file).plan();
    }

    /** The plan in {@code text}, read as JSON when {@code sourceName} ends in {@code .json}, else as YAML. */
    public static DeployPlan read(String text, String sourceName) {
        return load(text, sourceName).plan();
    }

    /** The plan written by {@link #toJson}; errors name the source {@code json}. */
    public static DeployPlan fromJson(String json) {
        return load(json, "json", Format.JSON).plan();
    }

    /** As {@link #read(Path)}, keeping where each field was written (see {@link PlanFile}). */
    public static PlanFile load(Path file) {
        String source = file.toString();
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw tooLarge(source, size + " bytes");
            }
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_BYTES + 1);   // the file may have grown, or be a device
            }
        } catch (IOException e) {
            throw new PlanFileException(source, 0, 0, "", "cannot be read: " + e, e);
        }
        if (bytes.length > MAX_BYTES) {
            throw tooLarge(source, "more than " + MAX_BYTES + " bytes");
        }
        return load(decode(bytes, source), source, Format.of(source));
    }

    /** As {@link #read(String, String)}, keeping where each field was written (see {@link PlanFile}). */
    public static PlanFile load(String text, String sourceName) {
        return load(text, sourceName, Format.of(sourceName));
    }

    private static PlanFile load(String text, String source, Format format) {
        if (text.length() > MAX_BYTES) {
            throw tooLarge(source, text.length() + " characters");
        }
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        PlanTree tree = PlanTree.parse(body, source, format);
        return new PlanFile(PlanReader.read(tree), tree);
    }

    /** Writes {@code plan} to {@code file}, as JSON when its name ends in {@code .json}, else as YAML. */
    public static void write(DeployPlan plan, Path file) {
        String text = text(plan, Format.of(file.toString()));
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plan file " + file, e);
        }
    }

    /** {@code plan} as a YAML plan file. */
    public static String toYaml(DeployPlan plan) {
        return text(plan, Format.YAML);
    }

    /** {@code plan} as a JSON plan file; {@link #fromJson} reads it back. */
    public static String toJson(DeployPlan plan) {
        return text(plan, Format.JSON);
    }

    /** The JSON Schema (draft 2020-12) of plan files: {@code dev/deploykit/plan/plan.schema.json}. */
    public static String schema() {
        try (InputStream in = PlanFiles.class.getResourceAsStream("plan.schema.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @throws IllegalArgumentException for a strategy without an action, or a plan (huge inline
     *                                  scripts) whose file would be over {@link #MAX_BYTES} and so
     *                                  could not be read back
     */
    private static String text(DeployPlan plan, Format format) {
        String text;
        try {
            text = format.writer.writeValueAsString(PlanWriter.plan(plan));
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // writing a tree to a string does no I/O
        }
        if (text.length() > MAX_BYTES) {
            throw new IllegalArgumentException("the plan is " + text.length() + " characters as " + format
                    + ", over the limit of " + MAX_BYTES + " for a plan file, so it could not be read back");
        }
        return text.endsWith("\n") ? text : text + "\n";
    }

    private static PlanFileException tooLarge(String source, String size) {
        return new PlanFileException(source, 1, 1, "", "the file is " + size + ", over the limit of " + MAX_BYTES
                + " bytes (1 MiB) for a plan file", null);
    }

    /** Strict UTF-8: a malformed byte is an error at its line and column, not a replacement character. */
    private static String decode(byte[] bytes, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            String before = out.flip().toString();
            int line = (int) before.chars().filter(c -> c == '\n').count() + 1;
            int column = before.length() - before.lastIndexOf('\n');
            throw new PlanFileException(source, line, column, "", "not UTF-8 text (byte " + in.position() + ")", null);
        }
        decoder.flush(out);
        return out.flip().toString();
    }
}
