package dev.deploykit.version;

import java.util.Comparator;
import java.util.regex.Pattern;

/**
 * Debian version ordering exactly as {@code dpkg --compare-versions} does it: epoch numerically,
 * then upstream version and revision with dpkg's {@code verrevcmp} (digit runs compared as numbers,
 * letters before non-letters, {@code ~} before everything, even the end of the string).
 */
public final class DebianVersions implements Comparator<String> {
    public static final DebianVersions ORDER = new DebianVersions();
    /** Epoch (digits), upstream starting with a digit, and an optional non-empty revision after the last '-'. */
    private static final Pattern GRAMMAR = Pattern.compile("(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*(?:-[A-Za-z0-9.+~]+)?");

    private DebianVersions() {}

    /** True when {@code version} follows Debian's grammar (epoch optional, upstream starts with a digit). */
    public static boolean isValid(String version) {
        return version != null && version.length() <= 128 && GRAMMAR.matcher(version).matches() && !version.endsWith("-");
    }

    @Override
    public int compare(String a, String b) {
        Parts pa = Parts.of(a);
        Parts pb = Parts.of(b);
        int c = Long.compare(pa.epoch, pb.epoch);
        if (c != 0) {
            return c;
        }
        c = verrevcmp(pa.upstream, pb.upstream);
        return c != 0 ? c : verrevcmp(pa.revision, pb.revision);
    }

    private record Parts(long epoch, String upstream, String revision) {
        static Parts of(String v) {
            int colon = v.indexOf(':');
            long epoch = 0;
            if (colon > 0) {
                try {
                    epoch = Long.parseLong(v.substring(0, colon));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("not a Debian version: '" + v + "' (its epoch, before ':', must be a number)");
                }
                v = v.substring(colon + 1);
            }
            int dash = v.lastIndexOf('-');
            return dash >= 0 ? new Parts(epoch, v.substring(0, dash), v.substring(dash + 1)) : new Parts(epoch, v, "");
        }
    }

    private static int order(String s, int i) {
        if (i >= s.length()) {
            return 0;
        }
        char c = s.charAt(i);
        if (Character.isDigit(c)) {
            return 0;
        }
        if (isAsciiLetter(c)) {
            return c;
        }
        if (c == '~') {
            return -1;
        }
        return c + 256;
    }

    static int verrevcmp(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int firstDiff = 0;
            while ((i < a.length() && !isDigit(a, i)) || (j < b.length() && !isDigit(b, j))) {
                int ac = order(a, i);
                int bc = order(b, j);
                if (ac != bc) {
                    return Integer.signum(ac - bc);
                }
                i++;
                j++;
            }
            while (i < a.length() && a.charAt(i) == '0') {
                i++;
            }
            while (j < b.length() && b.charAt(j) == '0') {
                j++;
            }
            while (isDigit(a, i) && isDigit(b, j)) {
                if (firstDiff == 0) {
                    firstDiff = a.charAt(i) - b.charAt(j);
                }
                i++;
                j++;
            }
            if (isDigit(a, i)) {
                return 1;
            }
            if (isDigit(b, j)) {
                return -1;
            }
            if (firstDiff != 0) {
                return Integer.signum(firstDiff);
            }
        }
        return 0;
    }

    private static boolean isDigit(String s, int i) {
        return i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9';
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
