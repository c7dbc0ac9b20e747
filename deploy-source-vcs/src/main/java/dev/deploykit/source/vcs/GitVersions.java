package dev.deploykit.source.vcs;

import dev.deploykit.version.DebianVersions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bundle version of a Git revision. A version tag ({@code refs/tags/v2.3.1} or {@code 2.3.1})
 * gives its version ({@code 2.3.1}); anything else gives {@code 0~<commit time, UTC, yyyyMMddHHmmss>.<short id>},
 * which sorts below every tagged version and, between untagged commits, by commit time. Pure.
 */
final class GitVersions {
    private static final Pattern VERSION_TAG = Pattern.compile("refs/tags/[vV]?([0-9][A-Za-z0-9.+~:-]*)");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC);

    private GitVersions() {}

    static String of(String fullRef, Instant commitTime, String shortId) {
        if (fullRef != null) {
            Matcher m = VERSION_TAG.matcher(fullRef);
            if (m.matches() && DebianVersions.isValid(m.group(1))) {
                return m.group(1);
            }
        }
        return "0~" + STAMP.format(commitTime) + "." + shortId;
    }
}
