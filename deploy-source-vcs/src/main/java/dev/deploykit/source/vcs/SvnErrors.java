package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.SourceException.Reason;
import org.tmatesoft.svn.core.SVNAuthenticationException;
import org.tmatesoft.svn.core.SVNErrorCode;
import org.tmatesoft.svn.core.SVNException;

/** SVNKit's failures as {@link SourceException}s with a reason, messages masked of the secret in use. */
final class SvnErrors {
    private SvnErrors() {}

    static SourceException translate(String location, String path, SVNException e, String secretValue) {
        String text = Locations.mask(e.getErrorMessage().getFullMessage(), secretValue).replace('\n', ' ');
        SVNErrorCode code = e.getErrorMessage().getErrorCode();
        if (e instanceof SVNAuthenticationException || code == SVNErrorCode.RA_NOT_AUTHORIZED || code.getCategory() == SVNErrorCode.AUTHN_CATEGORY
                || code == SVNErrorCode.AUTHZ_UNREADABLE) {
            return new SourceException(location, Reason.AUTHENTICATION, "the server refused the credentials (or needs some): " + text);
        }
        if (code == SVNErrorCode.FS_NOT_FOUND || code == SVNErrorCode.FS_NO_SUCH_REVISION || code == SVNErrorCode.RA_DAV_PATH_NOT_FOUND) {
            return new SourceException(location, Reason.UNKNOWN_REF, "no '" + path + "' there: " + text);
        }
        if (code == SVNErrorCode.RA_SVN_REPOS_NOT_FOUND || code == SVNErrorCode.RA_ILLEGAL_URL || code == SVNErrorCode.RA_LOCAL_REPOS_OPEN_FAILED) {
            return new SourceException(location, Reason.NO_REPOSITORY, "no Subversion repository there: " + text);
        }
        return new SourceException(location, Reason.UNREACHABLE, "cannot reach the server: " + text);
    }
}
