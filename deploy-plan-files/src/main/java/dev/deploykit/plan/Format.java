package dev.deploykit.plan;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker;
import java.util.regex.Pattern;

/** The two syntaxes of a plan file; one reader and one writer serve both. Immutable, thread-safe. */
enum Format {
    YAML(yamlFactory()),
    JSON(new JsonFactory());

    final JsonFactory factory;
    final ObjectWriter writer;

    Format(JsonFactory factory) {
        this.factory = factory;
        this.writer = new ObjectMapper(factory).writerWithDefaultPrettyPrinter();
    }

    /** JSON for a name ending in {@code .json}, YAML for anything else ({@code .yaml}, {@code .yml}). */
    static Format of(String fileName) {
        return fileName.toLowerCase(java.util.Locale.ROOT).endsWith(".json") ? JSON : YAML;
    }

    private static YAMLFactory yamlFactory() {
        return YAMLFactory.builder()
                .stringQuotingChecker(new PlainOnlyWhenSafe())
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
                .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .disable(YAMLGenerator.Feature.SPLIT_LINES)
                .build();
    }

    /**
     * Writes a string unquoted only when it reads back as that same string: names, paths, durations
     * ({@code 30s}), percents ({@code 25%}) and versions with two dots ({@code 2.3.1}). Jackson's
     * default check leaves {@code 0x10}, {@code 1e3} and {@code .inf} bare, and they come back as
     * numbers. Everything else is double-quoted, with escapes, so that any string round-trips.
     */
    private static final class PlainOnlyWhenSafe extends StringQuotingChecker.Default {
        private static final Pattern SAFE = Pattern.compile(
                "[A-Za-z/][A-Za-z0-9._/-]*|(\\d+(h|ms|us|ns|m|s))+|\\d+%|\\d+\\.\\d+\\.[0-9A-Za-z.+~_-]*");

        @Override
        public boolean needToQuoteValue(String value) {
            return !SAFE.matcher(value).matches() || isReservedKeyword(value) || super.needToQuoteValue(value);
        }
    }
}
