package dev.deploykit;

import java.util.regex.Pattern;

/** Argument checks shared by the model records; messages name the bad value. */
final class Checks {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

    private Checks() {}

    static String id(String what, String value) {
        if (value == null || !ID.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must match " + ID.pattern() + ", but was " + quote(value));
        }
        return value;
    }

    static String labelKey(String value) {
        if (value == null || !LABEL_KEY.matcher(value).matches()) {
            throw new IllegalArgumentException("label key must match " + LABEL_KEY.pattern() + ", but was " + quote(value));
        }
        return value;
    }

    static String labelValue(String key, String value) {
        if (value == null || !LABEL_VALUE.matcher(value).matches()) {
            throw new IllegalArgumentException(
                    "label " + key + " value must match " + LABEL_VALUE.pattern() + ", but was " + quote(value));
        }
        return value;
    }

    static <T> T notNull(String what, T value) {
        if (value == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        return value;
    }

    static String quote(String value) {
        return value == null ? "null" : "'" + value + "'";
    }
}
