package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.SourceException.Reason;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import org.eclipse.jgit.errors.NoRemoteRepositoryException;

/**
 * JGit's failures as {@link SourceException}s with a reason, their messages masked of the secret
 * in use (JGit does not echo passwords, but a message is never trusted to hold none).
 */
final class GitErrors {
    private GitErrors() {}

    static SourceException translate(String location, Exception e, String secretValue, String hostKeyRefusal) {
        String text = Locations.mask(messages(e), secretValue);
        if (hostKeyRefusal != null) {
            return new SourceException(location, Reason.HOST_KEY, hostKeyRefusal);
        }
        String lower = text.toLowerCase(Locale.ROOT);
        Reason reason;
        String what;
        if (lower.contains("not authorized") || lower.contains("authentication") || lower.contains("auth fail")
                || lower.contains("no more authentication methods")) {
            reason = Reason.AUTHENTICATION;
            what = "the server refused the credentials (or needs some)";
        } else if (has(e, NoRemoteRepositoryException.class) || lower.contains("repository not found") || lower.contains("not found")
                || lower.contains("does not appear to be a git repository") || lower.contains("not exported")) {
            reason = Reason.NO_REPOSITORY;
            what = "no Git repository there";
        } else if (has(e, ConnectException.class) || has(e, UnknownHostException.class) || has(e, SocketTimeoutException.class)
                || has(e, NoRouteToHostException.class) || lower.contains("connection") || lower.contains("timed out")) {
            reason = Reason.UNREACHABLE;
            what = "cannot reach the server";
        } else {
            reason = Reason.UNREACHABLE;
            what = "talking to the server failed";
        }
        return new SourceException(location, reason, what + ": " + text, null);
    }

    private static String messages(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null && out.length() < 2000; t = t.getCause()) {
            if (t.getMessage() != null && !out.toString().contains(t.getMessage())) {
                out.append(out.length() == 0 ? "" : ": ").append(t.getMessage());
            }
        }
        return out.length() == 0 ? e.getClass().getSimpleName() : out.toString();
    }

    private static boolean has(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
