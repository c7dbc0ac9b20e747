package dev.deploykit.source.vcs;

import java.net.URI;
import java.net.URISyntaxException;

/** Checks on repository locations: credentials go in a {@link Credentials}, never in the URL. */
final class Locations {
    private Locations() {}

    /** {@code url} unchanged; refused when it carries a password or token, which would be stored and shown with it. */
    static String checked(String url, String what) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException(what + " URL is needed");
        }
        String userInfo = null;
        try {
            if (url.contains("://")) {
                userInfo = new URI(url).getRawUserInfo();
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(what + " URL is malformed: " + e.getReason());
        }
        if (userInfo != null && userInfo.contains(":")) {
            throw new IllegalArgumentException(what + " URL carries a password or token; give it as Credentials with a Secret instead");
        }
        return url;
    }

    /** {@code text} with {@code value} replaced by {@code ***}, for messages of libraries that might echo what they were given. */
    static String mask(String text, String value) {
        return text == null || value == null || value.isEmpty() ? text : text.replace(value, "***");
    }
}
