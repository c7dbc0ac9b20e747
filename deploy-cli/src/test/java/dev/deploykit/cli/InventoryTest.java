package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.deploykit.Binding;
import dev.deploykit.LabelSelector;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InventoryTest {
    @TempDir
    Path dir;

    private Inventory read(String yaml) throws Exception {
        return Inventory.read(Files.writeString(dir.resolve("hosts.yaml"), yaml));
    }

    private String error(String yaml) {
        CliException e = assertThrows(CliException.class, () -> read(yaml));
        assertEquals(ExitCode.BAD_INPUT, e.exitCode());
        return e.getMessage().replace(dir.resolve("hosts.yaml").toString(), "hosts.yaml");
    }

    @Test
    void readsServersWithDefaultsAndGroupsBySelectorAndByMembers() throws Exception {
        Inventory inventory = read("""
                defaults: {user: deploy, port: 22}
                servers:
                  - {id: web-1, host: 10.0.0.11, labels: {role: web}}
                  - {id: web-2, host: 10.0.0.12, port: 2222, user: admin, sudo: true, labels: {role: web, tier: 1}}
                  - id: db-1
                    host: 10.0.0.20
                    jump: deploy@bastion:22
                    root: /srv/db
                groups:
                  web: {selector: role=web}
                  db: {members: [db-1]}
                """);
        assertEquals(List.of(
                Server.of("web-1", Binding.ssh("10.0.0.11", 22, "deploy"), Map.of("role", "web")),
                Server.of("web-2", new Binding("ssh", Map.of("host", "10.0.0.12", "port", "2222", "user", "admin", "sudo", "true")),
                        Map.of("role", "web", "tier", "1")),
                Server.of("db-1", new Binding("ssh", Map.of("host", "10.0.0.20", "port", "22", "user", "deploy", "jump", "deploy@bastion:22",
                        "root", "/srv/db")), Map.of())), inventory.servers());
        assertEquals(List.of(new ServerGroup("web", Set.of(), LabelSelector.parse("role=web")), new ServerGroup("db", Set.of("db-1"), null)),
                inventory.groups());
    }

    @Test
    void anUnknownKeyIsAnErrorAtItsLineAndColumnNamingTheKnownOnes() {
        assertEquals("hosts.yaml:3:34 servers[1].lables: unknown key (known here: host, id, jump, labels, port, root, sudo, user)", error("""
                servers:
                  - {id: web-1, host: 10.0.0.11}
                  - {id: web-2, host: 10.0.0.12, lables: {role: web}}
                """));
        assertEquals("hosts.yaml:2:1 hosts: unknown key (known here: defaults, servers, groups)", error("""
                servers: []
                hosts: []
                """));
        assertEquals("hosts.yaml:1:21 defaults.usr: unknown key (known here: jump, port, root, sudo, user)", error("""
                defaults: {port: 2, usr: x}
                """));
    }

    @Test
    void aDuplicateServerIdNamesBothPlaces() {
        assertEquals("hosts.yaml:4:5 servers[2].id: duplicate server id 'web-1' (first at 2:5)", error("""
                servers:
                  - {id: web-1, host: 10.0.0.11}
                  - {id: web-2, host: 10.0.0.12}
                  - {id: web-1, host: 10.0.0.13}
                """));
    }

    @Test
    void otherMistakesAreNamedAtTheirPlace() {
        assertEquals("hosts.yaml:2:5 servers[0]: host is required", error("""
                servers:
                  - {id: web-1}
                """));
        assertEquals("hosts.yaml:4:3 groups.web.members[1]: unknown server 'web-9'", error("""
                servers:
                  - {id: web-1, host: 10.0.0.11}
                groups:
                  web: {members: [web-1, web-9]}
                """));
        assertEquals("hosts.yaml:3:3 groups.web: needs a selector (role=web) or members ([web-1, web-2])", error("""
                servers: []
                groups:
                  web: {}
                """));
        assertEquals("hosts.yaml:2:5 servers[0]: port must be in 1..65535, but was 70000", error("""
                servers:
                  - {id: web-1, host: 10.0.0.11, port: 70000}
                """));
        assertEquals("hosts.yaml:1:10 servers: must be a list of servers", error("""
                servers: {web-1: 10.0.0.11}
                """));
    }
}
