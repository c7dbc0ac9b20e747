package dev.deploykit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.Binding;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventoryReport;
import dev.deploykit.InventorySource;
import dev.deploykit.Server;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InventoriesTest {
    private static final Map<String, String> FORMATS = Map.of("web-app", "deb", "tool", "rpm", "bundle", "script");

    @Test
    void aFullReportReplacesOnlyTheFormatsItCovers() {
        Map<String, String> before = Map.of("web-app", "1.0", "tool", "2-1", "bundle", "3", "libc6", "2.36-9", "curl", "7.88");
        InventoryReport full = new InventoryReport(true, Map.of("web-app", "1.1", "libc6", "2.36-9"), Set.of(), Set.of("deb", "script"),
                InventorySource.AGENT_REPORT);
        assertEquals(Map.of("web-app", "1.1", "libc6", "2.36-9", "tool", "2-1"), Inventories.apply(before, full, FORMATS::get),
                "the rpm package stays (not covered); the bundle and curl (unknown to DeployKit, from an earlier report) go");
    }

    @Test
    void aDeltaChangesAndRemovesOnlyWhatItNames() {
        InventoryReport delta = new InventoryReport(false, Map.of("curl", "7.89"), Set.of("libc6"), Set.of("deb"), InventorySource.AFTER_TASK);
        assertEquals(Map.of("web-app", "1.0", "curl", "7.89"),
                Inventories.apply(Map.of("web-app", "1.0", "libc6", "2.36-9"), delta, FORMATS::get));
    }

    @Test
    void changesListEachDifferenceByName() {
        Server s = Server.of("n1", Binding.local(Path.of("/tmp/n1")), Map.of()).withInstalled("a", "1").withInstalled("b", "1");
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals(List.of(new InventoryChange(at, "n1", "a", "1", "2", InventorySource.POLL),
                new InventoryChange(at, "n1", "b", "1", null, InventorySource.POLL),
                new InventoryChange(at, "n1", "c", null, "1", InventorySource.POLL)),
                Inventories.changes(s, Map.of("a", "2", "c", "1"), InventorySource.POLL, at));
        assertEquals(List.of(), Inventories.changes(s, s.inventory(), InventorySource.POLL, at));
    }
}
