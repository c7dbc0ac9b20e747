#!/usr/bin/env bash
# DeployKit beside parallel scp+ssh, pssh and Ansible: the same job (one file to N hosts, then
# sha256sum there) on N real sshd and N real agents on this machine. Writes benchmarks/REPORT.md,
# benchmarks/reports/peers.json and benchmarks/reports/peers.png. Needs root (sshd, useradd).
#   benchmarks/peers.sh            N = 10 and 30 for every tool, 100 for DeployKit alone, 64 MiB, 3 rounds
#   benchmarks/peers.sh --smoke    N = 2, 4 MiB, one round (CI: same code paths, no figures judged)
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
for tool in sshd scp ssh xargs parallel-scp parallel-ssh ansible useradd; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || { echo "peers.sh needs $tool (apt-get install openssh-server pssh ansible-core)" >&2; exit 1; }
done
if [[ ! -f benchmarks/target/benchmarks.jar || "${1:-}" != "--smoke-no-build" ]]; then
  mvn -B -q -DskipTests -pl benchmarks -am package
fi
case "${1:-}" in
  --smoke|--smoke-no-build)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.PeersBenchmark --n 2 --dk-n 3 --mib 4 --rounds 1 \
      --report benchmarks/reports/smoke-peers.md --json benchmarks/reports/smoke-peers.json --png benchmarks/reports/smoke-peers.png ;;
  *)
    $JAVA -cp benchmarks/target/benchmarks.jar dev.deploykit.benchmarks.PeersBenchmark --n 10,30 --dk-n 100 --mib 64 --rounds 3 \
      --report benchmarks/REPORT.md --json benchmarks/reports/peers.json --png benchmarks/reports/peers.png ;;
esac
