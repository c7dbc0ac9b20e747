package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployPlan;
import dev.deploykit.HealthCheck;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Secret;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code read(write(plan))} equals {@code plan}, in YAML and in JSON, for plans that use every field. */
class RoundTripTest {
    /** Strings YAML likes to read as something else, and strings that need escapes. */
    private static final List<String> AWKWARD = List.of("2.10", "yes", "no", "on", "true", "null", "~", "0x10", "1e3", ".inf", "1_000",
            "010", "", " lead", "trail ", "- x", "a: b", "#c", "a #b", "*a", "&a", "!t", "%x", "@x", "{a}", "[a]", "'q'", "\"dq\"",
            "line1\n\tline2\n", "tab\tin", "x\u0085y", "\u2028", "caf\u00e9 \u65e5\u672c", "12:30:00", "2024-01-01", "25%", "\\",
            "1.2.3", "0.1.0-SNAPSHOT", "1:2.3", "10m", "1h30m", "100%", "1.2.3e5", "Yes", "NULL", "y", "=", "<<", "/", "/opt/web/bin/x", "-fsS", "-1");

    static List<DeployPlan> plans() {
        Secret db = Secret.of("db/root");
        List<DeployPlan> plans = new ArrayList<>(List.of(
                DeployPlan.builder().action(Action.install("web-app", "2.3.1")).targetAll().build(),
                DeployPlan.builder().name("web 2.3.1").action(Action.install("web-app", "2.3.1-1.el9"))
                        .targetGroups("web", "api").targetServers("db-1").targetSelector("role=web,dc=sh1").exclude("web-7", "web-9")
                        .canary(BatchSize.percent(10)).batch(BatchSize.count(4)).concurrency(2)
                        .pauseBetweenBatches(Duration.ofSeconds(90)).manualPromote(true)
                        .maxFailed(BatchSize.percent(5)).batchFailureMode(DeployPlan.BatchFailureMode.FINISH_BATCH).rollbackOnFailure(true)
                        .beforeHook(Command.of("systemctl", "stop", "web-app"))
                        .beforeHook(Command.of("mysql", "-uroot", "-p" + db, "-e", "select 1")
                                .withEnv(Map.of("DB_PASSWORD", db.reference(), "A", "1")).withCwd("/srv/web")
                                .withTimeout(Duration.ofMillis(1500)).withRunAs("web"))
                        .afterHook(Command.shell("systemctl start \"$1\" && echo 'started'\n\tdone", "web-app"))
                        .healthCheck(HealthCheck.of(Command.of("curl", "-fsS", "http://127.0.0.1:8080/health").withTimeout(Duration.ofSeconds(3)),
                                5, Duration.ofSeconds(2)))
                        .stepTimeout(Duration.ofNanos(3_723_004_005_006L)).build(),
                DeployPlan.builder().name("remove").action(Action.remove("old-agent")).targetServers("n1", "n2").exclude("n2")
                        .batch(BatchSize.percent(100)).healthCheck(HealthCheck.ofPackage(0, Duration.ZERO)).build(),
                DeployPlan.builder().name("purge").action(Action.purge("old-agent")).targetServers("n1").build(),
                DeployPlan.builder().action(Action.runScripts("hooks", "2.10")).targetSelector("role=db").build(),
                DeployPlan.builder().action(Action.install("web-app", "2.4")).targetGroups("web")
                        .window(dev.deploykit.DispatchWindow.daily(java.time.LocalTime.of(2, 0), Duration.ofHours(2),
                                java.time.ZoneId.of("Asia/Shanghai")).on(java.time.DayOfWeek.SATURDAY, java.time.DayOfWeek.SUNDAY)
                                .notBefore(java.time.Instant.parse("2026-12-05T00:00:00Z"))).build(),
                DeployPlan.builder().action(Action.install("web-app", "2.4")).targetGroups("web")
                        .window(dev.deploykit.DispatchWindow.startingAt(java.time.Instant.parse("2026-12-05T00:00:00Z"))).build(),
                DeployPlan.builder().action(Action.rollback("d-42")).targetGroups("web").maxFailed(BatchSize.count(3))
                        .stepTimeout(Duration.ofHours(2)).build(),
                DeployPlan.builder().action(Action.runScripts(ScriptSet.of("maintenance",
                        Script.of("drain", Command.of("/usr/local/bin/drain", "--wait")),
                        Script.of("vacuum", Command.shell("psql -c 'vacuum'").withRunAs("postgres").withTimeout(Duration.ofMinutes(30))))))
                        .targetAll().canary(BatchSize.count(1)).batch(BatchSize.percent(1)).build()));
        for (String s : AWKWARD) {
            plans.add(DeployPlan.builder().name(s).action(Action.install("pkg", s.isBlank() ? "1" : s)).targetAll()
                    .beforeHook(Command.of("echo", s).withEnv(Map.of("V", s))).build());
        }
        return plans;
    }

    @Test
    void everyPlanReadsBackEqualFromYamlAndJson() {
        for (DeployPlan plan : plans()) {
            String yaml = PlanFiles.toYaml(plan);
            String json = PlanFiles.toJson(plan);
            assertEquals(plan, PlanFiles.read(yaml, "plan.yaml"), yaml);
            assertEquals(plan, PlanFiles.fromJson(json), json);
            assertEquals(yaml, PlanFiles.toYaml(PlanFiles.read(yaml, "plan.yaml")), "the same plan writes the same text");
        }
    }

    @Test
    void writeChoosesTheSyntaxByExtensionAndReadsBack(@TempDir Path tmp) throws IOException {
        DeployPlan plan = plans().get(1);
        for (String name : List.of("plan.yaml", "plan.yml", "plan.json", "PLAN.JSON")) {
            Path file = tmp.resolve(name);
            PlanFiles.write(plan, file);
            assertEquals(plan, PlanFiles.read(file), name);
            assertEquals(name.toLowerCase().endsWith(".json"), Files.readString(file).startsWith("{"), name);
        }
    }

    @Test
    void aPlanWithOnlyDefaultsIsWrittenInFull() {
        assertEquals("""
                name: ""
                action:
                  install:
                    package: web-app
                    version: 2.3.1
                target:
                  all: false
                  groups:
                    - web
                  servers: []
                  selector: {}
                  exclude: []
                rollout:
                  canary: 0
                  batch: 25%
                  concurrency: 0
                  pauseBetweenBatches: 0s
                  manualPromote: false
                failurePolicy:
                  maxFailed: 0
                  batchFailureMode: FAIL_FAST
                  rollbackOnFailure: false
                hooks:
                  before: []
                  after: []
                stepTimeout: 10m
                """, PlanFiles.toYaml(DeployPlan.builder().action(Action.install("web-app", "2.3.1")).targetGroups("web").build()));
    }

    @Test
    void durationsAreExactInBothDirections() {
        Map<String, Duration> cases = Map.of("0s", Duration.ZERO, "30s", Duration.ofSeconds(30), "1h30m", Duration.ofMinutes(90),
                "1s500ms", Duration.ofMillis(1500), "2h3m4s5ms6us7ns", Duration.ofNanos(7_384_005_006_007L),
                "2562047788015215h30m7s", Duration.ofSeconds(Long.MAX_VALUE));
        cases.forEach((text, d) -> {
            assertEquals(text, Durations.format(d));
            assertEquals(d, Durations.parse(text));
        });
        assertEquals(Duration.ofMinutes(90), Durations.parse("90m"));
        for (String bad : List.of("", "30", "1.5h", "-1s", "1d", "s", "1h 30m", "PT30S", "99999999999999999999h")) {
            assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
        }
    }

    @Test
    void strategiesWithoutAnActionAreNotPlanFiles() {
        assertThrows(IllegalArgumentException.class, () -> PlanFiles.toYaml(DeployPlan.strategy().canary(BatchSize.count(1)).build()));
    }

    /** Randomly varied plans: sizes, durations, flags and hook lists drawn from a fixed seed. */
    @Test
    void randomPlansRoundTrip() {
        Random random = new Random(14);
        for (int i = 0; i < 300; i++) {
            DeployPlan.Builder b = DeployPlan.builder().name("p" + i).action(Action.install("app", "1." + i)).targetGroups("g" + random.nextInt(5));
            int canary = random.nextInt(3);
            b.canary(random.nextBoolean() ? BatchSize.count(canary) : BatchSize.percent(canary + 1));
            b.batch(random.nextBoolean() ? BatchSize.count(1 + random.nextInt(50)) : BatchSize.percent(1 + random.nextInt(100)));
            b.maxFailed(random.nextBoolean() ? BatchSize.count(random.nextInt(4)) : BatchSize.percent(1 + random.nextInt(100)));
            b.concurrency(random.nextInt(8)).pauseBetweenBatches(Duration.ofMillis(random.nextInt(10_000_000)))
                    .manualPromote(canary > 0 && random.nextBoolean()).rollbackOnFailure(random.nextBoolean())
                    .stepTimeout(Duration.ofNanos(1 + (random.nextLong() >>> 20)))
                    .batchFailureMode(DeployPlan.BatchFailureMode.values()[random.nextInt(2)]);
            for (int h = random.nextInt(3); h > 0; h--) {
                b.afterHook(Command.of("hook", Integer.toString(random.nextInt())));
            }
            DeployPlan plan = b.build();
            assertEquals(plan, PlanFiles.read(PlanFiles.toYaml(plan), "plan.yaml"));
            assertEquals(plan, PlanFiles.fromJson(PlanFiles.toJson(plan)));
        }
    }

    @Test
    void aChangedFieldIsADifferentPlan() {
        DeployPlan plan = plans().get(1);
        assertNotEquals(plan, PlanFiles.read(PlanFiles.toYaml(plan).replace("batch: 4", "batch: 5"), "plan.yaml"));
    }
}
