package dev.deploykit.format.rpm;

import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.version.RpmVersions;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code rpm} package format (RHEL, CentOS, Rocky, Alma, openEuler, Anolis, SUSE).
 *
 * <p>{@link #inspect} reads the lead, the signature header and the main header in pure Java, with
 * rpm's own limits on tag counts and data sizes, each also checked against the bytes actually left in
 * the file before anything is allocated. The file list in the header is checked for {@code ..} and
 * relative paths. Versions are {@code [epoch:]version-release}, ordered by {@link RpmVersions}.
 *
 * <p>Node commands: on a real node {@code dnf}, else {@code yum}, else {@code rpm -U}; a downgrade
 * uses {@code dnf downgrade}, {@code yum downgrade} or {@code rpm -U --oldpackage}; {@code rpm -e} to
 * remove; {@code rpm -q} to query. On a simulated node {@code rpm --root <node root>} with the node's
 * own database.
 */
public final class RpmFormat implements PackageFormat {
    private static final int LEAD_SIZE = 96;
    private static final int HEADER_MAGIC = 0x8eade801;
    /** rpm's own limit, HEADER_TAGS_MAX. */
    private static final int MAX_TAGS = 0xffff;
    /**
     * A header's data store is read into memory: rpm allows 256 MiB (HEADER_DATA_MAX), this allows
     * 32 MiB, several times the largest headers real distributions ship, so inspection fits a small heap.
     */
    static final int MAX_DATA = 32 * 1024 * 1024;
    /** The Requires field joins every required name: kilobytes in real packages. */
    private static final int MAX_REQUIRES_CHARS = 1024 * 1024;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_+][A-Za-z0-9._+-]*");

    static final int SIG_LONGSIZE_TAG = 270;
    static final int SIG_SIZE_TAG = 1000;
    static final int PAYLOADDIGEST_TAG = 5092;
    static final int PAYLOADDIGESTALGO_TAG = 5093;
    static final int NAME_TAG = 1000;
    static final int VERSION_TAG = 1001;
    static final int RELEASE_TAG = 1002;
    static final int EPOCH_TAG = 1003;
    static final int SUMMARY_TAG = 1004;
    static final int LICENSE_TAG = 1014;
    static final int ARCH_TAG = 1022;
    static final int OLDFILENAMES_TAG = 1027;
    static final int REQUIRENAME_TAG = 1049;
    static final int DIRINDEXES_TAG = 1116;
    static final int BASENAMES_TAG = 1117;
    static final int DIRNAMES_TAG = 1118;
    static final int PAYLOADCOMPRESSOR_TAG = 1125;

    private RpmFormat() {}

    public static RpmFormat create() {
        return new RpmFormat();
    }

    @Override
    public String name() {
        return "rpm";
    }

    @Override
    public boolean recognizes(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && (magic[0] & 0xff) == 0xed && (magic[1] & 0xff) == 0xab
                    && (magic[2] & 0xff) == 0xee && (magic[3] & 0xff) == 0xdb;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public PackageMetadata inspect(Path file) {
        String label = file.getFileName().toString();
        if (!recognizes(file)) {
            throw new PackageFormatException(label + ": not an rpm (wrong lead magic)");
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            long left = Files.size(file);
            if (left < LEAD_SIZE) {
                throw new PackageFormatException("truncated lead");
            }
            in.skipNBytes(LEAD_SIZE);
            left -= LEAD_SIZE;
            RpmHeader signature = RpmHeader.read(in, left, "signature header", MAX_TAGS, MAX_DATA);
            left -= signature.size();
            int pad = (int) ((8 - signature.size() % 8) % 8);
            if (left < pad) {
                throw new PackageFormatException("truncated after the signature header");
            }
            in.skipNBytes(pad);
            left -= pad;
            RpmHeader header = RpmHeader.read(in, left, "header", MAX_TAGS, MAX_DATA);
            left -= header.size();
            checkPayload(in, left, signature, header);
            return metadata(header);
        } catch (PackageFormatException e) {
            throw new PackageFormatException(label + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw new PackageFormatException(label + ": not a readable rpm: " + e, e);
        }
    }

    /**
     * The signature header records the size of header plus payload, and the main header a SHA-256 of
     * the payload: a truncated or corrupted file fails here even though its headers parse.
     */
    private static void checkPayload(InputStream in, long left, RpmHeader signature, RpmHeader header) throws IOException {
        Optional<Long> size = signature.number(SIG_SIZE_TAG).or(() -> signature.number(SIG_LONGSIZE_TAG));
        if (size.isPresent() && size.get() - header.size() != left) {
            throw new PackageFormatException("payload is " + left + " bytes but the signature header says "
                    + (size.get() - header.size()) + ": the file is truncated or has trailing data");
        }
        Optional<String> digest = header.count(PAYLOADDIGEST_TAG) > 0 ? header.string(PAYLOADDIGEST_TAG) : Optional.empty();
        if (digest.isPresent() && header.int32(PAYLOADDIGESTALGO_TAG).orElse(0) == 8) {
            // streamed: the payload is hashed, never decompressed or unpacked here
            MessageDigest sha = Sha256.newDigest();
            Sha256.copy(in, OutputStream.nullOutputStream(), sha);
            String actual = Sha256.hex(sha);
            if (!actual.equals(digest.get())) {
                throw new PackageFormatException("payload SHA-256 is " + actual + " but the header says " + digest.get());
            }
        }
    }

    private static PackageMetadata metadata(RpmHeader h) {
        String name = h.string(NAME_TAG).orElseThrow(() -> new PackageFormatException("header has no NAME"));
        String version = h.string(VERSION_TAG).orElseThrow(() -> new PackageFormatException("header has no VERSION"));
        String release = h.string(RELEASE_TAG).orElseThrow(() -> new PackageFormatException("header has no RELEASE"));
        Optional<Integer> epoch = h.int32(EPOCH_TAG);
        String evr = epoch.map(e -> e + ":").orElse("") + version + "-" + release;
        if (!NAME.matcher(name).matches()) {
            throw new PackageFormatException("NAME must match " + NAME.pattern() + ", but was '" + name + "'");
        }
        if (!RpmVersions.isValid(evr) || version.contains("-") || release.contains("-")) {
            throw new PackageFormatException("not a valid rpm version: '" + evr + "'");
        }
        checkFileList(h);
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("Name", name);
        fields.put("Epoch", epoch.map(String::valueOf).orElse(""));
        fields.put("Version", version);
        fields.put("Release", release);
        fields.put("Arch", h.string(ARCH_TAG).orElse(""));
        fields.put("License", h.string(LICENSE_TAG).orElse(""));
        fields.put("Requires", h.joined(REQUIRENAME_TAG, ", ", MAX_REQUIRES_CHARS));
        fields.put("PayloadCompressor", h.string(PAYLOADCOMPRESSOR_TAG).orElse(""));
        return new PackageMetadata(name, evr, h.string(SUMMARY_TAG).orElse(""), fields);
    }

    /**
     * Installed paths must be absolute and free of {@code ..}: rpm would install them as given. A path
     * is a dir name joined to a base name; they are checked apart, so that millions of base names in
     * one long dir never become millions of long strings.
     */
    private static void checkFileList(RpmHeader h) {
        h.forEachString(OLDFILENAMES_TAG, path -> {
            if (!path.startsWith("/") || List.of(path.split("/")).contains("..")) {
                throw badPath(path);
            }
        });
        int bases = h.count(BASENAMES_TAG);
        int indexes = h.count(DIRINDEXES_TAG);
        if (bases != indexes) {
            throw new PackageFormatException("file list is inconsistent: " + bases + " names, " + indexes + " dir indexes");
        }
        byte[] tails = new byte[h.count(DIRNAMES_TAG)];
        int[] i = {0};
        h.forEachString(DIRNAMES_TAG, dir -> tails[i[0]++] = tail(dir));
        i[0] = 0;
        h.forEachString(BASENAMES_TAG, base -> {
            int d = h.int32(DIRINDEXES_TAG, i[0]++);
            if (d < 0 || d >= tails.length) {
                throw new PackageFormatException("file '" + base + "' points at dir index " + d + " of " + tails.length);
            }
            if (base.contains("/")) {
                throw new PackageFormatException("file name '" + base + "' contains '/'");
            }
            String last = switch (tails[d]) {
                case TAIL_EMPTY -> "";
                case TAIL_DOT -> ".";
                case TAIL_DOT_DOT -> "..";
                default -> null;
            };
            if (tails[d] == TAIL_BAD || last != null && (last + base).equals("..")) {
                throw badPath(nth(h, DIRNAMES_TAG, d) + base);
            }
        });
    }

    private static final byte TAIL_BAD = 0;
    private static final byte TAIL_EMPTY = 1;
    private static final byte TAIL_DOT = 2;
    private static final byte TAIL_DOT_DOT = 3;
    private static final byte TAIL_OTHER = 4;

    /** What a dir name contributes to the paths joined to it: bad already, or the segment a base name completes. */
    private static byte tail(String dir) {
        int slash = dir.lastIndexOf('/');
        if (!dir.startsWith("/") || List.of(dir.substring(0, slash).split("/")).contains("..")) {
            return TAIL_BAD;
        }
        return switch (dir.substring(slash + 1)) {
            case "" -> TAIL_EMPTY;
            case "." -> TAIL_DOT;
            case ".." -> TAIL_DOT_DOT;
            default -> TAIL_OTHER;
        };
    }

    private static String nth(RpmHeader h, int tag, int n) {
        List<String> found = new ArrayList<>(1);
        int[] i = {0};
        h.forEachString(tag, s -> {
            if (i[0]++ == n) {
                found.add(s);
            }
        });
        return found.get(0);
    }

    private static PackageFormatException badPath(String path) {
        return new PackageFormatException("payload path '" + path + "' is relative or contains '..'");
    }

    @Override
    public Comparator<String> versionOrder() {
        return RpmVersions.ORDER;
    }

    @Override
    public boolean supports(Facts facts) {
        return !facts.packageFamily().equals("deb");
    }

    @Override
    public List<Command> install(NodeContext node, Package pkg, String currentVersion) {
        boolean downgrade = currentVersion != null && versionOrder().compare(pkg.version(), currentVersion) < 0;
        String path = node.artifactPath();
        if (node.root().equals("/")) {
            // dnf and yum take a local file only when its name ends in .rpm; the cache names files by digest.
            String dnf = downgrade ? "downgrade" : "install";
            String yum = downgrade ? "downgrade" : "localinstall";
            return List.of(Command.shell("ln -sf \"$1\" \"$1.rpm\"\n"
                    + "if command -v dnf >/dev/null 2>&1; then exec dnf -y " + dnf + " \"$1.rpm\"; fi\n"
                    + "if command -v yum >/dev/null 2>&1; then exec yum -y " + yum + " \"$1.rpm\"; fi\n"
                    + "exec rpm -U " + (downgrade ? "--oldpackage " : "") + "\"$1.rpm\"", path));
        }
        List<String> upgrade = new ArrayList<>(List.of("-U"));
        if (downgrade) {
            upgrade.add("--oldpackage");
        }
        upgrade.add(path);
        // a simulated node's rpm database is created first, in the same command (one round trip)
        Command rpm = rpm(node, upgrade);
        List<String> args = new ArrayList<>(List.of(node.root()));
        args.addAll(rpm.argv());
        return List.of(Command.shell("rpm --root \"$1\" --dbpath /var/lib/rpm --initdb && shift && exec \"$@\"", args.toArray(String[]::new))
                .withEnv(rpm.env()));
    }

    @Override
    public List<Command> remove(NodeContext node, String packageName, String currentVersion) {
        return List.of(rpm(node, List.of("-e", packageName)));
    }

    @Override
    public Command queryInstalled(NodeContext node, String packageName) {
        return rpm(node, List.of("-q", "--qf", "%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n", packageName));
    }

    @Override
    public String parseInstalled(int exitCode, String stdout) {
        List<String> lines = stdout.lines().filter(l -> !l.isBlank()).toList();
        // several versions installed at once (kernel-style) report the highest
        return exitCode != 0 || lines.isEmpty() ? null : lines.stream().max(RpmVersions.ORDER).orElseThrow().trim();
    }

    @Override
    public Optional<String> diagnose(String stderr) {
        if (stderr.contains("Failed dependencies") || stderr.contains("nothing provides")) {
            return Optional.of("missing dependency");
        }
        if (stderr.contains("conflicts with file from package")) {
            return Optional.of("file conflict with another package");
        }
        if (stderr.matches("(?s).*%(pre|post|preun|postun|pretrans|posttrans)(\\([^)]*\\))? scriptlet failed.*")) {
            return Optional.of("package scriptlet failed");
        }
        if (stderr.contains("can't create transaction lock") || stderr.contains("waiting for transaction lock")) {
            return Optional.of("the rpm database lock is held by another process");
        }
        return Optional.empty();
    }

    private static Command rpm(NodeContext node, List<String> args) {
        List<String> argv = new ArrayList<>(List.of("rpm"));
        if (!node.root().equals("/")) {
            argv.addAll(List.of("--root", node.root(), "--dbpath", "/var/lib/rpm"));
        }
        argv.addAll(args);
        return Command.of(argv).withEnv(Map.of("LC_ALL", "C"));
    }
}
