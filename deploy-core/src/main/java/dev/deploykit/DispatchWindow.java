package dev.deploykit;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * When a deployment may dispatch: not before a time, and/or only inside a recurring maintenance
 * window ({@code opens} for {@code length}, on {@code days}, in {@code zone}). Outside it, a running
 * deployment dispatches no new batch and its waiting nodes say why and until when; a batch already
 * running when the window closes finishes.
 *
 * <pre>{@code
 * DispatchWindow.daily(LocalTime.of(2, 0), Duration.ofHours(2), ZoneId.of("Asia/Shanghai"))
 *         .on(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY)
 *         .notBefore(Instant.parse("2026-12-05T00:00:00Z"))
 * }</pre>
 *
 * @param notBefore no dispatch before this instant; null for no such limit
 * @param opens     the window's daily start, local to {@code zone}; null for no recurring window
 * @param length    how long the window stays open, more than zero and at most a day
 * @param days      the days of week (of the window's start) it opens on; every day when empty
 * @param zone      the zone {@code opens} and {@code days} are read in
 */
public record DispatchWindow(Instant notBefore, LocalTime opens, Duration length, Set<DayOfWeek> days, ZoneId zone) {

    /** No limit: dispatch at once, at any time. */
    public static final DispatchWindow ALWAYS = new DispatchWindow(null, null, null, Set.of(), null);

    public DispatchWindow {
        days = days == null || days.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(days));
        if (opens != null) {
            Objects.requireNonNull(zone, "zone");
            if (length == null || length.isNegative() || length.isZero() || length.compareTo(Duration.ofDays(1)) > 0) {
                throw new PlanValidationException("window.length", "must be more than zero and at most 1 day, but was " + length);
            }
        } else if (length != null || !days.isEmpty()) {
            throw new PlanValidationException("window.opens", "a window's length and days need its opening time");
        }
    }

    /** Dispatch only from {@code instant} on. */
    public static DispatchWindow startingAt(Instant instant) {
        return new DispatchWindow(Objects.requireNonNull(instant, "instant"), null, null, Set.of(), null);
    }

    /** A window that opens every day at {@code opens} (in {@code zone}) for {@code length}. */
    public static DispatchWindow daily(LocalTime opens, Duration length, ZoneId zone) {
        return new DispatchWindow(null, Objects.requireNonNull(opens, "opens"), length, Set.of(), zone);
    }

    /** The same window, opening only on {@code days}. */
    public DispatchWindow on(DayOfWeek... days) {
        return new DispatchWindow(notBefore, opens, length, Set.of(days), zone);
    }

    /** The same window, and no dispatch before {@code instant}. */
    public DispatchWindow notBefore(Instant instant) {
        return new DispatchWindow(instant, opens, length, days, zone);
    }

    /** The earliest instant at or after {@code now} when dispatch is allowed ({@code now} itself when it is). */
    public Instant nextOpen(Instant now) {
        Instant from = notBefore != null && notBefore.isAfter(now) ? notBefore : now;
        if (opens == null) {
            return from;
        }
        ZonedDateTime t = from.atZone(zone);
        // The window that may hold `from` started today or yesterday (it lasts at most a day).
        for (ZonedDateTime day = t.toLocalDate().minusDays(1).atStartOfDay(zone); ; day = day.plusDays(1)) {
            ZonedDateTime start = day.toLocalDate().atTime(opens).atZone(zone);
            if (!days.isEmpty() && !days.contains(start.getDayOfWeek())) {
                continue;
            }
            if (start.plus(length).isAfter(t)) {
                return start.isAfter(t) ? start.toInstant() : from;
            }
        }
    }

    /** Whether dispatch is allowed at {@code now}. */
    public boolean isOpen(Instant now) {
        return nextOpen(now).equals(now);
    }

    /** The limits in words, e.g. {@code "window 02:00 for 2h on SAT,SUN (Asia/Shanghai)"}. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        if (notBefore != null) {
            s.append("not before ").append(notBefore);
        }
        if (opens != null) {
            if (s.length() > 0) {
                s.append(", ");
            }
            s.append("window ").append(opens).append(" for ").append(length.toString().substring(2).toLowerCase(Locale.ROOT));
            if (!days.isEmpty()) {
                s.append(" on ").append(days.stream().sorted().map(d -> d.getDisplayName(TextStyle.SHORT, Locale.ROOT).toUpperCase(Locale.ROOT))
                        .collect(Collectors.joining(",")));
            }
            s.append(" (").append(zone).append(")");
        }
        return s.length() == 0 ? "any time" : s.toString();
    }
}
