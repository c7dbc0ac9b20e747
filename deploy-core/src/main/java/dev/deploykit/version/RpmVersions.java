package dev.deploykit.version;

import java.util.Comparator;
import java.util.regex.Pattern;

/**
 * RPM version ordering exactly as rpm does it for {@code [epoch:]version[-release]}: epoch
 * numerically (missing is 0), then version and release with {@code rpmvercmp} (alternating digit and
 * letter segments, separators ignored, digits newer than letters, {@code ~} older than everything,
 * {@code ^} newer than the end of the string but older than anything else).
 */
public final class RpmVersions implements Comparator<String> {
    public static final RpmVersions ORDER = new RpmVersions();
    private static final Pattern GRAMMAR = Pattern.compile("(?:[0-9]+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?");

    private RpmVersions() {}

    /** True for {@code [epoch:]version[-release]} with rpm's allowed characters. */
    public static boolean isValid(String evr) {
        return evr != null && evr.length() <= 256 && GRAMMAR.matcher(evr).matches();
    }

    @Override
    public int compare(String a, String b) {
        String[] pa = split(a);
        String[] pb = split(b);
        int c = rpmvercmp(pa[0], pb[0]);
        if (c != 0) {
            return c;
        }
        c = rpmvercmp(pa[1], pb[1]);
        // A missing release compares as empty, as rpm.vercmp does (so 1.0 < 1.0-1).
        return c != 0 ? c : rpmvercmp(pa[2] == null ? "" : pa[2], pb[2] == null ? "" : pb[2]);
    }

    /** {epoch, version, release-or-null}. */
    private static String[] split(String evr) {
        String epoch = "0";
        int colon = evr.indexOf(':');
        if (colon > 0 && evr.substring(0, colon).chars().allMatch(Character::isDigit)) {
            epoch = evr.substring(0, colon);
            evr = evr.substring(colon + 1);
        }
        int dash = evr.lastIndexOf('-');
        return dash >= 0 ? new String[] {epoch, evr.substring(0, dash), evr.substring(dash + 1)} : new String[] {epoch, evr, null};
    }

    /** rpm's {@code rpmvercmp}, transcribed from rpmio/rpmvercmp.c. */
    static int rpmvercmp(String a, String b) {
        if (a.equals(b)) {
            return 0;
        }
        int i = 0;
        int j = 0;
        int na = a.length();
        int nb = b.length();
        while (i < na || j < nb) {
            while (i < na && !isAlnum(a.charAt(i)) && a.charAt(i) != '~' && a.charAt(i) != '^') {
                i++;
            }
            while (j < nb && !isAlnum(b.charAt(j)) && b.charAt(j) != '~' && b.charAt(j) != '^') {
                j++;
            }
            char ca = i < na ? a.charAt(i) : 0;
            char cb = j < nb ? b.charAt(j) : 0;
            if (ca == '~' || cb == '~') {
                if (ca != '~') {
                    return 1;
                }
                if (cb != '~') {
                    return -1;
                }
                i++;
                j++;
                continue;
            }
            if (ca == '^' || cb == '^') {
                if (i >= na) {
                    return -1;
                }
                if (j >= nb) {
                    return 1;
                }
                if (ca != '^') {
                    return 1;
                }
                if (cb != '^') {
                    return -1;
                }
                i++;
                j++;
                continue;
            }
            if (i >= na || j >= nb) {
                break;
            }
            int si = i;
            int sj = j;
            boolean isNum = isDigit(ca);
            if (isNum) {
                while (i < na && isDigit(a.charAt(i))) {
                    i++;
                }
                while (j < nb && isDigit(b.charAt(j))) {
                    j++;
                }
            } else {
                while (i < na && isAlpha(a.charAt(i))) {
                    i++;
                }
                while (j < nb && isAlpha(b.charAt(j))) {
                    j++;
                }
            }
            if (sj == j) {
                return isNum ? 1 : -1;
            }
            String sa = a.substring(si, i);
            String sb = b.substring(sj, j);
            if (isNum) {
                sa = stripZeros(sa);
                sb = stripZeros(sb);
                if (sa.length() != sb.length()) {
                    return sa.length() > sb.length() ? 1 : -1;
                }
            }
            int rc = sa.compareTo(sb);
            if (rc != 0) {
                return rc < 0 ? -1 : 1;
            }
        }
        if (i >= na && j >= nb) {
            return 0;
        }
        return i >= na ? -1 : 1;
    }

    private static String stripZeros(String s) {
        int k = 0;
        while (k < s.length() && s.charAt(k) == '0') {
            k++;
        }
        return s.substring(k);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isAlpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isAlnum(char c) {
        return isDigit(c) || isAlpha(c);
    }
}
