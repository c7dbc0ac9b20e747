#!/usr/bin/env bash
# A test bed of real hosts on this machine, for tests (dev.deploykit.testbed.TestBed) and for manual
# use (docs/testing.md).
# Each host has its own network namespace (a veth to the bridge dktb0, its own IP 10.78.0.<10+i>,
# so a link fault can be injected per host) and its own mount namespace whose / is an overlay of this
# machine's root with a per-host upper directory on a tmpfs: apt-get, dpkg, rpm and services act on
# a real, complete / and nothing touches the machine itself. Needs root.
#
#   testbed.sh up N            create hosts h1..hN (an existing host is kept)
#   testbed.sh down            remove every host, its namespaces, mounts and processes
#   testbed.sh exec HOST CMD...  run CMD as root inside HOST (its /, its network)
#   testbed.sh ip HOST         the host's IP address
#   testbed.sh link HOST up|down   bring the host's link up or down (a cable pulled)
#   testbed.sh list            the hosts that are up
set -euo pipefail
STATE=${DK_TESTBED_DIR:-/var/tmp/dk-testbed}
BRIDGE=dktb0
NET=10.78.0
SIZE=${DK_TESTBED_HOST_SIZE:-4g}

die() { echo "testbed: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (network and mount namespaces)"
for tool in ip unshare nsenter mount chroot; do command -v "$tool" >/dev/null || die "needs $tool"; done

host_ip() { echo "$NET.$((10 + ${1#h}))"; }
host_dir() { echo "$STATE/$1"; }
host_pid() {
  local f; f="$(host_dir "$1")/pid"
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f" || return 1
}

bridge_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
}

up_host() {
  local h=$1 dir ip ns=dktb-$1 veth=dktb${1#h}
  dir=$(host_dir "$h"); ip=$(host_ip "$h")
  if host_pid "$h" >/dev/null; then return 0; fi
  down_host "$h" 2>/dev/null || true
  mkdir -p "$dir/root"
  mount -t tmpfs -o size="$SIZE",mode=0700 "dktb-$h" "$dir/root"
  mkdir -p "$dir/root/upper" "$dir/root/work" "$dir/root/merged"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$NET.1"
  local m=$dir/root/merged
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $2, $3, $4 }' /proc/self/mounts > "$dir/cgroup-mounts"
  # The keeper: a process in the host's namespaces, chrooted into its overlay, that holds them open.
  # Everything else runs next to it through nsenter (testbed.sh exec).
  ip netns exec "$ns" unshare --mount --propagation private --fork sh -c "
    set -e
    mount -t overlay overlay -o lowerdir=/,upperdir=$dir/root/upper,workdir=$dir/root/work $m
    mount -t proc proc $m/proc
    mount --rbind /dev $m/dev
    mount --rbind /sys $m/sys
    # ip netns exec mounted a fresh sysfs without the cgroup hierarchies: mount this machine's again
    # (the same hierarchies, v1 and v2, as it has), so services on the host get cgroups of their own
    mount -t tmpfs -o mode=0755 tmpfs $m/sys/fs/cgroup
    while read -r d t o; do mkdir -p $m\$d; mount -t \$t -o \$o cgroup $m\$d; done < $dir/cgroup-mounts
    mount -t tmpfs -o mode=0755 tmpfs $m/run
    mount -t tmpfs -o mode=1777 tmpfs $m/tmp
    mkdir -p $m/run/sshd $m/run/lock
    echo $h > $m/etc/hostname
    # no resolver reachable from here: a lookup fails at once instead of timing out (apt tries mirrors)
    rm -f $m/etc/resolv.conf; echo 'nameserver 127.0.0.1' > $m/etc/resolv.conf
    echo \$\$ > $dir/pid.new
    exec chroot $m /bin/sleep infinity
  " </dev/null >"$dir/keeper.log" 2>&1 &
  local spawner=$! pid
  for _ in $(seq 1 100); do
    if [[ -f $dir/pid.new ]]; then
      pid=$(cat "$dir/pid.new")
      if [[ "$(readlink /proc/$pid/root 2>/dev/null)" == "$m" ]]; then
        mv "$dir/pid.new" "$dir/pid"; echo "$ip" > "$dir/ip"; return 0
      fi
    fi
    kill -0 $spawner 2>/dev/null || die "host $h did not start: $(cat "$dir/keeper.log")"
    sleep 0.1
  done
  die "host $h did not start in 10 s: $(cat "$dir/keeper.log")"
}

down_host() {
  local h=$1 dir pid mnt
  dir=$(host_dir "$h")
  if pid=$(host_pid "$h"); then
    mnt=$(readlink "/proc/$pid/ns/mnt")
    # every process in the host's mount namespace, the keeper last
    for p in $(ls /proc | grep -E '^[0-9]+$'); do
      [[ $p != "$pid" && "$(readlink /proc/$p/ns/mnt 2>/dev/null)" == "$mnt" ]] && kill -9 "$p" 2>/dev/null || true
    done
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ip netns del "dktb-$h" 2>/dev/null || true
  ip link del "dktb${h#h}" 2>/dev/null || true
  umount -l "$dir/root" 2>/dev/null || true
  rm -rf "$dir"
}

cmd=${1:-}; shift || true
case "$cmd" in
  up)
    n=${1:?usage: testbed.sh up N}
    mkdir -p "$STATE"
    bridge_up
    for i in $(seq 1 "$n"); do up_host "h$i"; done
    for i in $(seq 1 "$n"); do echo "h$i $(host_ip "h$i") pid $(cat "$(host_dir "h$i")/pid")"; done ;;
  down)
    for d in "$STATE"/h*; do [[ -d $d ]] && down_host "$(basename "$d")"; done
    ip link del "$BRIDGE" 2>/dev/null || true ;;
  exec)
    h=${1:?usage: testbed.sh exec HOST CMD...}; shift
    pid=$(host_pid "$h") || die "host $h is not up"
    exec nsenter -t "$pid" -m -n -r -w -- "$@" ;;
  ip)
    host_ip "${1:?usage: testbed.sh ip HOST}" ;;
  link)
    h=${1:?usage: testbed.sh link HOST up|down}
    ip link set "dktb${h#h}" "${2:?up or down}" ;;
  list)
    for d in "$STATE"/h*; do [[ -d $d ]] && host_pid "$(basename "$d")" >/dev/null && echo "$(basename "$d") $(cat "$d/ip")"; done; true ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
