package dev.deploykit;

/** A package file is corrupt, malicious or not of the expected format. Never retryable. */
public class PackageFormatException extends DeployException {
    public PackageFormatException(String message) {
        super(message);
    }

    public PackageFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
