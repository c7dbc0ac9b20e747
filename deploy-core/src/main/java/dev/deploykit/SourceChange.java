package dev.deploykit;

import java.util.List;

/**
 * In a preview, how a node's code would move when both versions were published from a source:
 * from revision to revision, with the revisions in between when the source knows them cheaply.
 *
 * @param from    short id of the revision installed now ({@code 1a2b3c4}, {@code r41}), null when
 *                the installed version was not published from the source
 * @param to      short id of the revision the plan installs
 * @param between one line per revision after {@code from} up to {@code to}, newest first
 *                ({@code "r42 alice: fix the cart"}); empty when not cheap to know
 */
public record SourceChange(String from, String to, List<String> between) {
    public SourceChange {
        between = List.copyOf(between);
    }
}
