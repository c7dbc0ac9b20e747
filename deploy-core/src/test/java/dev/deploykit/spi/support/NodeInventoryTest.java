package dev.deploykit.spi.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeInventoryTest {
    @Test
    void keepsInstalledPackagesOnlyAndTheHighestOfSeveralRpmVersions() {
        String out = "#deb\nlibc6\t2.36-9\tamd64\tii \nlibc6\t2.36-9\ti386\tii \nold\t1.0\tall\trc \nhalf\t2.0\tall\tiU \n"
                + "#rpm\nkernel\t0:5.14-1\tx86_64\tii \nkernel\t0:5.14-3\tx86_64\tii \n#script\nbundle\t1.2\t\tii \n";
        NodeInventory.Listing listing = NodeInventory.parse(out);
        assertEquals(Map.of("libc6", "2.36-9", "kernel", "0:5.14-3", "bundle", "1.2"), listing.packages());
        assertEquals(Set.of("deb", "rpm", "script"), listing.formats());
    }
}
