package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FactsTest {
    record Sample(String label, String text, String id, String version, String family) {
        @Override
        public String toString() {
            return label;
        }
    }

    static List<Sample> samples() {
        return List.of(
                new Sample("Debian 12", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
                        + "VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n", "debian", "12", "deb"),
                new Sample("Ubuntu 22.04", "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\n"
                        + "VERSION_ID=\"22.04\"\n", "ubuntu", "22.04", "deb"),
                new Sample("Kylin V10", "NAME=\"Kylin\"\nVERSION=\"银河麒麟桌面操作系统V10 (SP1)\"\nVERSION_US=\"Kylin Linux Desktop V10 (SP1)\"\n"
                        + "ID=kylin\nID_LIKE=debian\nPRETTY_NAME=\"Kylin V10 SP1\"\nVERSION_ID=\"v10\"\n", "kylin", "v10", "deb"),
                new Sample("Kylin Server V10 (rpm based)", "NAME=\"Kylin Linux Advanced Server\"\nVERSION=\"V10 (Sword)\"\nID=\"kylin\"\n"
                        + "VERSION_ID=\"V10\"\nPRETTY_NAME=\"Kylin Linux Advanced Server V10 (Sword)\"\nANSI_COLOR=\"0;31\"\n",
                        "kylin", "V10", "rpm"),
                new Sample("UOS 20", "PRETTY_NAME=\"UnionTech OS Desktop 20 Pro\"\nNAME=\"uos\"\nVERSION_ID=\"20\"\nVERSION=\"20\"\n"
                        + "ID=uos\nHOME_URL=\"https://www.chinauos.com/\"\n", "uos", "20", "deb"),
                new Sample("deepin 20", "PRETTY_NAME=\"Deepin 20.9\"\nNAME=\"Deepin\"\nVERSION_ID=\"20.9\"\nID=Deepin\n", "deepin", "20.9", "deb"),
                new Sample("openEuler 22.03", "NAME=\"openEuler\"\nVERSION=\"22.03 (LTS-SP1)\"\nID=\"openEuler\"\nVERSION_ID=\"22.03\"\n"
                        + "PRETTY_NAME=\"openEuler 22.03 (LTS-SP1)\"\nANSI_COLOR=\"0;31\"\n", "openeuler", "22.03", "rpm"),
                new Sample("Anolis 8", "NAME=\"Anolis OS\"\nVERSION=\"8.8\"\nID=\"anolis\"\nID_LIKE=\"rhel fedora centos\"\n"
                        + "VERSION_ID=\"8.8\"\nPLATFORM_ID=\"platform:an8\"\n", "anolis", "8.8", "rpm"),
                new Sample("Rocky 9", "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"
                        + "VERSION_ID=\"9.3\"\n", "rocky", "9.3", "rpm"),
                new Sample("CentOS 7", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\n"
                        + "VERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n", "centos", "7", "rpm"),
                new Sample("AlmaLinux 9", "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
                        "almalinux", "9.4", "rpm"),
                new Sample("unknown", "NAME=\"Something\"\nID=something\n", "something", "", "unknown"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void mapsDistributionsToTheirPackageFamily(Sample sample) {
        Facts facts = Facts.parseOsRelease(sample.text(), "x86_64");
        assertEquals(sample.id(), facts.osId());
        assertEquals(sample.version(), facts.osVersion());
        assertEquals(sample.family(), facts.packageFamily());
    }
}
