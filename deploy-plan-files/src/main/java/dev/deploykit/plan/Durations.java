package dev.deploykit.plan;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations in plan files: one or more parts of a whole number and a unit, largest first by
 * convention: {@code 30s}, {@code 5m}, {@code 1h30m}, {@code 250ms}; units {@code h m s ms us ns}.
 * The written form is exact, so every {@link Duration} a plan can hold round-trips.
 */
final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d{1,19})(h|ms|us|ns|m|s)");
    static final String SYNTAX = "a duration such as 30s, 5m, 1h30m or 250ms (units h, m, s, ms, us, ns)";

    private Durations() {}

    /** The duration written as {@code text}; an {@link IllegalArgumentException} says what is expected. */
    static Duration parse(String text) {
        Matcher m = PART.matcher(text);
        Duration total = Duration.ZERO;
        int at = 0;
        try {
            while (at < text.length() && m.region(at, text.length()).lookingAt()) {
                long n = Long.parseLong(m.group(1));
                total = total.plus(switch (m.group(2)) {
                    case "h" -> Duration.ofHours(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "ms" -> Duration.ofMillis(n);
                    case "us" -> Duration.ofNanos(Math.multiplyExact(n, 1000L));
                    default -> Duration.ofNanos(n);
                });
                at = m.end();
            }
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too long a duration");
        }
        if (at == 0 || at < text.length()) {
            throw new IllegalArgumentException("must be " + SYNTAX + ", but was '" + text + "'");
        }
        return total;
    }

    /** {@code d} as the shortest exact text: {@code 1h30m}, {@code 2s500ms}, {@code 0s}. */
    static String format(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("a plan holds no negative duration, but was " + d);
        }
        if (d.isZero()) {
            return "0s";
        }
        long seconds = d.getSeconds();
        int nanos = d.getNano();
        StringBuilder text = new StringBuilder();
        append(text, seconds / 3600, "h");
        append(text, seconds % 3600 / 60, "m");
        append(text, seconds % 60, "s");
        append(text, nanos / 1_000_000, "ms");
        append(text, nanos / 1000 % 1000, "us");
        append(text, nanos % 1000, "ns");
        return text.toString();
    }

    private static void append(StringBuilder text, long n, String unit) {
        if (n != 0) {
            text.append(n).append(unit);
        }
    }
}
