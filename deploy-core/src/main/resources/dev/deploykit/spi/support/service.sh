# DeployKit's service control on a node (NodeServices): shell functions, defined before a command
# that calls them with "set +e". svc_init NAME STATE_DIR CGROUP names the service, its state directory
# and its cgroup's leaf name; svc_start BUNDLE_DIR MEMORY_BYTES CPU_MILLIS (each limit empty for none)
# stops the running one and starts "scripts/service" from BUNDLE_DIR; svc_stop stops it.
# The service runs in a session of its own, in a cgroup of its own in every hierarchy this node has
# (v2, or v1's memory, cpu, cpuacct, pids and systemd), so it leaves the cgroup of whatever started it
# (the agent, an SSH session) and outlives it. Its output goes to STATE_DIR/log; when it ends, its
# exit status goes to STATE_DIR/exit.
svc_init() {
  name=$1; d=$2; cg=$3
  fs=${DEPLOYKIT_CGROUP_FS:-/sys/fs/cgroup}
}
svc_hierarchies() {
  if [ -f "$fs/cgroup.controllers" ] && ! [ -d "$fs/memory" ]; then echo "v2:$fs"; return; fi
  for h in memory cpu cpuacct pids systemd unified; do
    if [ -f "$fs/$h/cgroup.procs" ]; then echo "$h:$fs/$h"; fi
  done
}

# the service's live processes: its cgroups' members; without a cgroup, the processes carrying its marker
svc_members() {
  found=""
  for line in $(svc_hierarchies); do
    f="${line#*:}/deploykit-services/$cg/cgroup.procs"
    if [ -f "$f" ]; then
      found=1
      while read -r p; do if [ -d "/proc/$p" ]; then echo "$p"; fi; done < "$f"
    fi
  done
  if [ -z "$found" ]; then
    for e in /proc/[0-9]*/environ; do
      if tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "DEPLOYKIT_SERVICE=$cg"; then e=${e#/proc/}; echo "${e%/environ}"; fi
    done
  fi
}

svc_stop() {
  [ -f "$d/pid" ] || return 0
  left=$(svc_members | sort -u)
  if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null
    i=0
    while [ -n "$(svc_members)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    i=0
    while left=$(svc_members | sort -u) && [ -n "$left" ] && [ $i -lt 50 ]; do
      kill -KILL $left 2>/dev/null
      sleep 0.1; i=$((i + 1))
    done
    if [ -n "$(svc_members)" ]; then echo "deploykit: service $name: processes $(svc_members | tr '\n' ' ')survived SIGKILL" >&2; return 1; fi
  fi
  for line in $(svc_hierarchies); do rmdir "${line#*:}/deploykit-services/$cg" 2>/dev/null; done
  rm -f "$d/pid" "$d/exit" "$d/cgroup"
}

svc_start() {
  bundle=$1; mem=$2; cpu=$3
  svc_stop || return 1
  mkdir -p "$d"
  if [ -f "$d/log" ]; then mv -f "$d/log" "$d/log.1"; fi
  files=""; limited_mem=""; limited_cpu=""
  for line in $(svc_hierarchies); do
    k=${line%%:*}; h=${line#*:}
    if [ "$k" = v2 ]; then
      mkdir -p "$h/deploykit-services" 2>/dev/null
      for c in memory cpu pids; do
        if grep -qw "$c" "$h/cgroup.controllers" 2>/dev/null; then
          echo "+$c" > "$h/cgroup.subtree_control" 2>/dev/null
          echo "+$c" > "$h/deploykit-services/cgroup.subtree_control" 2>/dev/null
        fi
      done
    fi
    g="$h/deploykit-services/$cg"
    mkdir -p "$g" 2>/dev/null && [ -w "$g/cgroup.procs" ] || continue
    files="$files $g/cgroup.procs"
    case $k in
      v2)
        if [ -n "$mem" ] && [ -f "$g/memory.max" ] && echo "$mem" > "$g/memory.max"; then
          limited_mem=1
          if [ -f "$g/memory.swap.max" ]; then echo 0 > "$g/memory.swap.max"; fi
        fi
        if [ -n "$cpu" ] && [ -f "$g/cpu.max" ] && echo "$((cpu * 100)) 100000" > "$g/cpu.max"; then limited_cpu=1; fi ;;
      memory)
        if [ -n "$mem" ] && echo "$mem" > "$g/memory.limit_in_bytes"; then
          limited_mem=1
          if [ -f "$g/memory.memsw.limit_in_bytes" ]; then echo "$mem" > "$g/memory.memsw.limit_in_bytes" 2>/dev/null; fi
        fi ;;
      cpu)
        if [ -n "$cpu" ] && echo 100000 > "$g/cpu.cfs_period_us" && echo "$((cpu * 100))" > "$g/cpu.cfs_quota_us"; then limited_cpu=1; fi ;;
    esac
  done
  if [ -z "$files" ]; then
    echo "deploykit: service $name: no writable cgroup hierarchy on this node, so it runs without a cgroup of its own and without limits" >&2
  else
    if [ -n "$mem" ] && [ -z "$limited_mem" ]; then echo "deploykit: service $name: no memory controller here, so it runs without its memory limit" >&2; fi
    if [ -n "$cpu" ] && [ -z "$limited_cpu" ]; then echo "deploykit: service $name: no cpu controller here, so it runs without its CPU limit" >&2; fi
  fi
  echo "$cg" > "$d/cgroup"
  env -u DEPLOYKIT_STEP DEPLOYKIT_SERVICE="$cg" setsid /bin/sh -c \
    'for f in $1; do echo $$ > "$f"; done; cd "$2" && /bin/sh scripts/service; echo $? > "$3/exit.new"; mv -f "$3/exit.new" "$3/exit"' \
    service "$files" "$bundle" "$d" < /dev/null >> "$d/log" 2>&1 &
  echo $! > "$d/pid"
  echo "deploykit: service $name started (pid $!)"
}

