#!/usr/bin/env bash
# Builds the benchmarks and runs them, writing Markdown reports to benchmarks/reports/.
# The SSH scenario logs in as the account dkbench (created when missing: needs root, as sshd does).
# The relay scenario puts each agent in a network namespace with token-bucket-capped links (needs root, as ip netns and tc do).
# The desired-state scenario creates its own database (dk_bench_desired) when missing and drops it at the end.
#   benchmarks/run.sh            full run (issue targets: 256 MiB upload, 64 MiB to 30 targets)
#   benchmarks/run.sh --smoke    a short run for CI: small sizes, same code paths, no targets judged
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
if [[ ! -f benchmarks/target/benchmarks.jar || "${1:-}" != "--no-build" && "${1:-}" != "--smoke-no-build" ]]; then
  mvn -B -q -DskipTests -pl benchmarks -am package
fi
jdk=$($JAVA -version 2>&1 | head -1 | tr -dc '0-9.' | cut -d. -f1)
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.SshBenchmark --login dkbench \
      --size-mib 8 --fanout-mib 4 --targets 3 --report "benchmarks/reports/smoke-ssh-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.SshBenchmark --login dkbench \
      --size-mib 256 --fanout-mib 64 --targets 30 --report "benchmarks/reports/ssh-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.AgentBenchmark \
      --agents 50 --idle-agents 20,50 --fanout-agents 3 --fanout-mib 8 --report "benchmarks/reports/smoke-agent-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.AgentBenchmark \
      --agents 1000 --idle-agents 1000,10000 --fanout-agents 30 --fanout-mib 64 --report "benchmarks/reports/agent-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.AgentFootprintBenchmark \
      --agents 3 --mib 8 --rounds 1 --report "benchmarks/reports/smoke-agent-footprint-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.AgentFootprintBenchmark \
      --agents 30 --mib 64 --rounds 3 --report "benchmarks/reports/agent-footprint-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.RelayBenchmark \
      --agents 3 --mib 8 --link-mib-per-s 16 --report "benchmarks/reports/smoke-relay-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.RelayBenchmark \
      --agents 10,30,100 --mib 64 --link-mib-per-s 16 --report "benchmarks/reports/relay-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.StoreBenchmark \
      --transitions 2000 --deployments 4 --events 20000 --report "benchmarks/reports/smoke-store-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.StoreBenchmark \
      --transitions 40000 --deployments 8 --events 1000000 --report "benchmarks/reports/store-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.DesiredStateBenchmark \
      --agents 50 --drifts 5 --idle 50,200 --idle-seconds 5 --settle-seconds 3 --report "benchmarks/reports/smoke-desired-state-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.DesiredStateBenchmark \
      --agents 1000 --drifts 20 --idle 1000,10000 --idle-seconds 60 --report "benchmarks/reports/desired-state-jdk$jdk.md" ;;
esac
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.RestBenchmark \
      --agents 30 --clients 10 --report "benchmarks/reports/smoke-rest-jdk$jdk.md" ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.RestBenchmark \
      --agents 1000 --clients 200 --report "benchmarks/reports/rest-jdk$jdk.md" ;;
esac
