package dev.deploykit.format.deb;

import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.format.ArchivePaths;
import dev.deploykit.format.Bounded;
import dev.deploykit.format.BoundedTar;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.version.DebianVersions;
import io.airlift.compress.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.tukaani.xz.XZInputStream;

/**
 * The {@code deb} package format (Debian, Ubuntu, Kylin, UOS/deepin).
 *
 * <p>{@link #inspect} parses the file in pure Java: the {@code ar} container, {@code control.tar}
 * (plain, gz, xz or zst) for the control fields, and {@code data.tar} to refuse payload entries with
 * absolute names or {@code ..}. Every length is checked against hard limits before use: at most 16
 * ar members, one control.tar and one data.tar, both read through {@link BoundedTar} (control.tar:
 * 1000 entries and 64 MiB uncompressed; data.tar: a million entries and 64 GiB uncompressed).
 *
 * <p>Node commands: on a real node ({@code root} is {@code /}) {@code apt-get install} of the file when
 * apt is present (dependencies resolved, waits up to 2 minutes for the dpkg lock, downgrades allowed,
 * the file read as root since apt's sandbox user cannot enter the agent's private cache),
 * else {@code dpkg -i}; {@code dpkg -r} to remove; {@code dpkg-query} to read the installed version. On
 * a simulated node the same dpkg commands run against the node's own database with {@code --root},
 * {@code --force-script-chrootless} (maintainer scripts see {@code DPKG_ROOT}) and
 * {@code --force-not-root}. Everything runs with {@code DEBIAN_FRONTEND=noninteractive}.
 */
public final class DebFormat implements PackageFormat {
    private static final byte[] MAGIC = "!<arch>\n".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
    private static final long MAX_MEMBER_NAME = 256;
    private static final int MAX_CONTROL = 1024 * 1024;
    /** A deb has debian-binary, control.tar, data.tar and perhaps signatures; more members are not a deb. */
    private static final int MAX_MEMBERS = 16;
    private static final int MAX_CONTROL_ENTRIES = 1000;
    /** control.tar holds the control file, maintainer scripts and md5sums: megabytes at most. */
    private static final long MAX_CONTROL_BYTES = 64L * 1024 * 1024;
    private static final int MAX_DATA_ENTRIES = 1_000_000;
    /** Reading data.tar only checks its entries; this bounds the time a hostile one can take. */
    private static final long MAX_DATA_BYTES = 64L * 1024 * 1024 * 1024;
    private static final Map<String, String> ENV = Map.of("DEBIAN_FRONTEND", "noninteractive", "LC_ALL", "C");

    private DebFormat() {}

    public static DebFormat create() {
        return new DebFormat();
    }

    @Override
    public String name() {
        return "deb";
    }

    @Override
    public boolean recognizes(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return java.util.Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public PackageMetadata inspect(Path file) {
        String label = file.getFileName().toString();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new PackageFormatException("not an ar archive (wrong magic)");
            }
            long fileSize = Files.size(file);
            long offset = MAGIC.length;
            Map<String, String> control = null;
            boolean sawBinary = false;
            boolean sawData = false;
            for (int members = 1; ; members++) {
                byte[] header = in.readNBytes(60);
                if (header.length == 0) {
                    break;
                }
                if (members > MAX_MEMBERS) {
                    throw new PackageFormatException("more than " + MAX_MEMBERS + " ar members");
                }
                if (header.length != 60 || header[58] != '`' || header[59] != '\n') {
                    throw new PackageFormatException("ar member header at offset " + offset + " is malformed or truncated");
                }
                String name = new String(header, 0, 16, StandardCharsets.US_ASCII).trim();
                long size = parseDecimal(new String(header, 48, 10, StandardCharsets.US_ASCII).trim(), "ar member size of '" + name + "'");
                offset += 60;
                if (name.endsWith("/")) {
                    name = name.substring(0, name.length() - 1);
                }
                if (size > fileSize - offset) {
                    throw new PackageFormatException("ar member '" + name + "' claims " + size + " bytes but the file has only "
                            + (fileSize - offset) + " left");
                }
                if (name.length() > MAX_MEMBER_NAME) {
                    throw new PackageFormatException("ar member name too long");
                }
                BoundedStream member = new BoundedStream(in, size);
                if (name.equals("debian-binary")) {
                    String version = new String(Bounded.readExactly(member, size, 64, "debian-binary"), StandardCharsets.US_ASCII).trim();
                    if (!version.startsWith("2.")) {
                        throw new PackageFormatException("unsupported deb format version '" + version + "'");
                    }
                    sawBinary = true;
                } else if (name.startsWith("control.tar")) {
                    if (control != null) {
                        throw new PackageFormatException("a second control.tar member '" + name + "'");
                    }
                    control = readControl(decompress(member, name), name);
                } else if (name.startsWith("data.tar")) {
                    if (sawData) {
                        throw new PackageFormatException("a second data.tar member '" + name + "'");
                    }
                    checkPayload(decompress(member, name), name);
                    sawData = true;
                }
                member.skipRest(name);
                offset += size;
                if (size % 2 == 1) {
                    in.read();
                    offset++;
                }
            }
            if (!sawBinary || control == null || !sawData) {
                throw new PackageFormatException("missing " + (!sawBinary ? "debian-binary" : control == null ? "control.tar" : "data.tar")
                        + " member");
            }
            return metadata(control);
        } catch (PackageFormatException e) {
            throw new PackageFormatException(label + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw new PackageFormatException(label + ": not a readable .deb: " + e, e);
        }
    }

    private static long parseDecimal(String text, String what) {
        if (!text.matches("[0-9]{1,10}")) {
            throw new PackageFormatException(what + " is not a number: '" + text + "'");
        }
        return Long.parseLong(text);
    }

    private static InputStream decompress(InputStream member, String name) throws IOException {
        if (name.endsWith(".gz")) {
            return new GZIPInputStream(member);
        }
        if (name.endsWith(".xz")) {
            return new XZInputStream(member, 64 * 1024);
        }
        if (name.endsWith(".zst")) {
            return new ZstdInputStream(member);
        }
        if (name.endsWith(".tar")) {
            return member;
        }
        throw new PackageFormatException("unsupported compression in member '" + name + "'");
    }

    private static Map<String, String> readControl(InputStream tarStream, String member) throws IOException {
        BoundedTar tar = BoundedTar.open(tarStream, member, MAX_CONTROL_ENTRIES, MAX_CONTROL_BYTES);
        for (TarArchiveEntry entry = tar.next(); entry != null; entry = tar.next()) {
            String path = ArchivePaths.relative(entry.getName(), member + " entry");
            if (path.equals("control") && entry.isFile()) {
                return parseControl(new String(Bounded.readExactly(tar.content(), entry.getSize(), MAX_CONTROL, "control file"),
                        StandardCharsets.UTF_8));
            }
        }
        throw new PackageFormatException(member + " has no control file");
    }

    private static void checkPayload(InputStream tarStream, String member) throws IOException {
        BoundedTar tar = BoundedTar.open(tarStream, member, MAX_DATA_ENTRIES, MAX_DATA_BYTES);
        ArchivePaths paths = ArchivePaths.payload();
        for (TarArchiveEntry entry = tar.next(); entry != null; entry = tar.next()) {
            paths.check(entry);
        }
    }

    /** Parses deb822 control paragraphs: {@code Field: value} with continuation lines. */
    static Map<String, String> parseControl(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        String current = null;
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                if (!fields.isEmpty()) {
                    break;
                }
                continue;
            }
            if ((line.startsWith(" ") || line.startsWith("\t")) && current != null) {
                fields.put(current, fields.get(current) + "\n" + line.strip());
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new PackageFormatException("control line is not 'Field: value': '" + line + "'");
            }
            current = line.substring(0, colon).trim();
            fields.put(current, line.substring(colon + 1).trim());
        }
        return fields;
    }

    private static PackageMetadata metadata(Map<String, String> control) {
        String name = control.getOrDefault("Package", "");
        String version = control.getOrDefault("Version", "");
        if (!NAME.matcher(name).matches()) {
            throw new PackageFormatException("Package must match " + NAME.pattern() + ", but was '" + name + "'");
        }
        if (!DebianVersions.isValid(version)) {
            throw new PackageFormatException("Version is not a valid Debian version: '" + version + "'");
        }
        String description = control.getOrDefault("Description", "").lines().findFirst().orElse("");
        return new PackageMetadata(name, version, description, control);
    }

    @Override
    public Comparator<String> versionOrder() {
        return DebianVersions.ORDER;
    }

    @Override
    public boolean supports(Facts facts) {
        return !facts.packageFamily().equals("rpm");
    }

    @Override
    public List<Command> install(NodeContext node, Package pkg, String currentVersion) {
        String path = node.artifactPath();
        if (isRealRoot(node)) {
            boolean downgrade = currentVersion != null && versionOrder().compare(pkg.version(), currentVersion) < 0;
            // apt-get only takes a local file whose name ends in .deb; the cache names files by digest.
            // apt reads it as its sandbox user _apt, who cannot enter the agent's 0700 state dir: the file
            // is local and its digest verified, so apt reads it as root (APT::Sandbox::User).
            return List.of(Command.shell("ln -sf \"$1\" \"$1.deb\"\n"
                    + "if command -v apt-get >/dev/null 2>&1; then\n"
                    + "  exec apt-get install -y -q -o DPkg::Lock::Timeout=120 -o APT::Sandbox::User=root "
                    + (downgrade ? "--allow-downgrades " : "")
                    + "\"$1.deb\"\nfi\nexec dpkg -i \"$1.deb\"", path).withEnv(ENV));
        }
        return List.of(withDatabase(node, dpkg(node, "--install", path)));
    }

    @Override
    public List<Command> remove(NodeContext node, String packageName, String currentVersion) {
        return List.of(dpkg(node, "--remove", packageName));
    }

    /** {@code dpkg --purge}: the package and its conffiles, so nothing of it is left in {@code rc} state. */
    @Override
    public List<Command> purge(NodeContext node, String packageName, String currentVersion) {
        return List.of(dpkg(node, "--purge", packageName));
    }

    @Override
    public Command queryInstalled(NodeContext node, String packageName) {
        List<String> argv = new ArrayList<>(List.of("dpkg-query"));
        if (!isRealRoot(node)) {
            argv.add("--admindir=" + node.underRoot("/var/lib/dpkg"));
        }
        argv.addAll(List.of("-W", "-f", "${db:Status-Status}\t${Version}\n", "--", packageName));
        return Command.of(argv).withEnv(ENV);
    }

    @Override
    public String parseInstalled(int exitCode, String stdout) {
        if (exitCode != 0) {
            return null;
        }
        String[] parts = stdout.trim().split("\t");
        return parts.length == 2 && parts[0].equals("installed") ? parts[1] : null;
    }

    @Override
    public Optional<String> diagnose(String stderr) {
        if (stderr.contains("dependency problems") || stderr.contains("unmet dependencies") || stderr.contains("depends on")) {
            return Optional.of("missing dependency");
        }
        if (stderr.contains("trying to overwrite")) {
            return Optional.of("file conflict with another package");
        }
        if (stderr.matches("(?s).*(installation|removal) script (subprocess )?returned error.*")) {
            return Optional.of("maintainer script failed");
        }
        if (stderr.contains("lock") && (stderr.contains("Could not get lock") || stderr.contains("is locked") || stderr.contains("frontend lock"))) {
            return Optional.of("the dpkg lock is held by another process");
        }
        return Optional.empty();
    }

    private static boolean isRealRoot(NodeContext node) {
        return node.root().equals("/");
    }

    private static Command dpkg(NodeContext node, String action, String operand) {
        List<String> argv = new ArrayList<>(List.of("dpkg"));
        if (!isRealRoot(node)) {
            argv.addAll(List.of("--root=" + node.root(), "--force-script-chrootless", "--force-not-root",
                    "--log=" + node.underRoot("/var/log/dpkg.log")));
        }
        argv.addAll(List.of(action, operand));
        return Command.of(argv).withEnv(ENV);
    }

    /**
     * {@code dpkg} on a simulated node, whose dpkg database starts empty: its files are created first,
     * in the same command (one round trip).
     */
    private static Command withDatabase(NodeContext node, Command dpkg) {
        List<String> args = new ArrayList<>(List.of(node.underRoot("/var/lib/dpkg"), node.underRoot("/var/log")));
        args.addAll(dpkg.argv());
        return Command.shell("mkdir -p -- \"$1/info\" \"$1/updates\" \"$1/triggers\" \"$2\" && touch -- \"$1/status\" \"$1/available\""
                + " && shift 2 && exec \"$@\"", args.toArray(String[]::new)).withEnv(dpkg.env());
    }

    /** Reads at most {@code size} bytes of the underlying stream; never closes it. */
    private static final class BoundedStream extends InputStream {
        private final InputStream in;
        private long left;

        BoundedStream(InputStream in, long size) {
            this.in = in;
            this.left = size;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        void skipRest(String name) throws IOException {
            Bounded.skipExactly(in, left, "ar member '" + name + "'");
            left = 0;
        }

        @Override
        public void close() {
            // the ar stream stays open for the next member
        }
    }
}
