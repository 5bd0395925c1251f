#!/usr/bin/env bash
# Failover: 1 master + 2 replicas + 3 sentinels (quorum 2, down-after-milliseconds 1000,
# failover-timeout 5000) on free loopback ports, each process with its own config file. Once every
# sentinel knows both replicas and the two other sentinels and both replicas are in sync, the master
# is killed with SIGKILL; the figure is the time from the kill until a sentinel names a new master
# (SENTINEL GET-MASTER-ADDR-BY-NAME, asking the three in turn every 10 ms) and that master accepts
# a SET. Configurations, interleaved in the same run, REPS repetitions each (median reported):
#   redis          redis-server + redis-server --sentinel
#   redsim         redsim-server + redsim-sentinel
#   real-sentinels redis-server --sentinel watching redsim-server processes
# redsim-sentinel is probed first: if it cannot serve as a sentinel yet (it exits, e.g. "not
# implemented yet"), that configuration is reported as unavailable with its message.
# Binaries: REDIS_SERVER, REDSIM_SERVER, REDSIM_SENTINEL (defaults: redis-server and the release
# build, which is built unless BUILD=0).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDSIM_SERVER=${REDSIM_SERVER:-target/release/redsim-server}
REDSIM_SENTINEL=${REDSIM_SENTINEL:-target/release/redsim-sentinel}
source bench/lib.sh
require_tools "$REDIS_SERVER" redis-cli python3
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q --bin redsim-server --bin redsim-sentinel; fi

# server_conf FILE PORT DIR LOG [MASTER_PORT]: a data server's config file.
server_conf() {
  mkdir -p "$3"
  {
    echo "port $2"; echo "bind 127.0.0.1"; echo 'save ""'; echo "appendonly no"
    echo "dir $3"; echo "logfile $4"
    # Real Redis would wait 5 s for more replicas before a diskless full sync.
    echo "repl-diskless-sync-delay 0"
    if [ -n "${5:-}" ]; then echo "replicaof 127.0.0.1 $5"; fi
  } > "$1"
}

# sentinel_conf FILE PORT DIR LOG MASTER_PORT: a sentinel's config file (it rewrites it).
sentinel_conf() {
  mkdir -p "$3"
  cat > "$1" <<EOF
port $2
bind 127.0.0.1
dir $3
logfile $4
sentinel monitor bench 127.0.0.1 $5 2
sentinel down-after-milliseconds bench 1000
sentinel failover-timeout bench 5000
EOF
}

# Started by one repetition, stopped at its end (the EXIT trap stops whatever is left).
REP_PIDS=()
launch() { "$@" >/dev/null 2>>"$WORK/stderr.log" & PIDS+=($!); REP_PIDS+=($!); }
stop_rep() {
  for p in "${REP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${REP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  REP_PIDS=()
}

# probe_redsim_sentinel: empty output if redsim-sentinel answers PING as a sentinel, else why not.
probe_redsim_sentinel() {
  local dir="$WORK/probe" port nobody
  read -r port nobody <<< "$(free_ports 2)"
  sentinel_conf "$dir/sentinel.conf" "$port" "$dir" "$dir/sentinel.log" "$nobody"
  "$REDSIM_SENTINEL" "$dir/sentinel.conf" >/dev/null 2>"$dir/stderr" &
  local pid=$!
  for _ in $(seq 100); do
    if redis-cli -p "$port" PING >/dev/null 2>&1; then
      kill "$pid"; wait "$pid" 2>/dev/null || true; return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      local status=0; wait "$pid" || status=$?
      echo "exits with status $status: $(head -c 200 "$dir/stderr")"; return 0
    fi
    sleep 0.05
  done
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  echo "does not answer PING within 5 s"
}

cat > "$WORK/failover.py" <<'PY'
import os, signal, socket, sys, time
master_pid, master = int(sys.argv[1]), int(sys.argv[2])
replicas = [int(p) for p in sys.argv[3].split(",")]
sentinels = [int(p) for p in sys.argv[4].split(",")]
def call(port, *args):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        return read(s.makefile("rb"))
def read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"$":
        return None if rest == b"-1" else f.read(int(rest) + 2)[:-2].decode()
    if kind == b"*":
        return None if rest == b"-1" else [read(f) for _ in range(int(rest))]
    return line.rstrip(b"\r\n").decode()
def ready():
    for s in sentinels:
        if len(call(s, b"SENTINEL", b"REPLICAS", b"bench")) != 2 or len(call(s, b"SENTINEL", b"SENTINELS", b"bench")) != 2:
            return False
    return all("master_link_status:up" in call(r, b"INFO", b"replication") for r in replicas)
deadline = time.monotonic() + 60
while not ready():
    if time.monotonic() > deadline:
        sys.exit("the sentinels did not discover the group within 60 s")
    time.sleep(0.1)
t0 = time.monotonic()
os.kill(master_pid, signal.SIGKILL)
deadline = t0 + 60
while time.monotonic() < deadline:
    for s in sentinels:
        try:
            addr = call(s, b"SENTINEL", b"GET-MASTER-ADDR-BY-NAME", b"bench")
            if addr and int(addr[1]) != master and call(int(addr[1]), b"SET", b"after", b"failover") == "+OK":
                print("%.0f" % ((time.monotonic() - t0) * 1e3))
                sys.exit(0)
        except (OSError, ConnectionError):
            pass
    time.sleep(0.01)
sys.exit("no new master accepted a write within 60 s")
PY

# run_once CONFIG REP: one failover; sets MS to its time in ms.
run_once() {
  local config=$1 dir="$WORK/$1-$2" server=$REDSIM_SERVER
  if [ "$config" = redis ]; then server=$REDIS_SERVER; fi
  local all ports sports i
  read -r -a all <<< "$(free_ports 6)"
  ports=("${all[@]:0:3}"); sports=("${all[@]:3:3}")
  for i in 0 1 2; do
    local master=""; [ "$i" -gt 0 ] && master=${ports[0]}
    server_conf "$dir/server$i.conf" "${ports[$i]}" "$dir/server$i" "$dir/server$i.log" "$master"
    launch "$server" "$dir/server$i.conf"
    wait_up "${ports[$i]}"
  done
  for i in 0 1 2; do
    sentinel_conf "$dir/sentinel$i.conf" "${sports[$i]}" "$dir" "$dir/sentinel$i.log" "${ports[0]}"
    if [ "$config" = redsim ]; then
      launch "$REDSIM_SENTINEL" "$dir/sentinel$i.conf"
    else
      launch "$REDIS_SERVER" "$dir/sentinel$i.conf" --sentinel
    fi
    wait_up "${sports[$i]}"
  done
  if ! MS=$(python3 "$WORK/failover.py" "${REP_PIDS[0]}" "${ports[0]}" "${ports[1]},${ports[2]}" \
      "${sports[0]},${sports[1]},${sports[2]}"); then
    echo "$config failover $2 failed; sentinel log:" >&2; tail -n 30 "$dir/sentinel0.log" >&2; exit 1
  fi
  stop_rep
}

CONFIGS=(redis redsim real-sentinels)
REDSIM_SENTINEL_PROBLEM=$(probe_redsim_sentinel)
if [ -n "$REDSIM_SENTINEL_PROBLEM" ]; then CONFIGS=(redis real-sentinels); fi

declare -A TIMES
for rep in $(seq "$REPS"); do
  for config in "${CONFIGS[@]}"; do
    run_once "$config" "$rep"
    TIMES[$config]+="$MS "
  done
done
median() { python3 -c 'import statistics, sys; print("%.0f" % statistics.median(map(float, sys.argv[1:])))' $1; }

echo "kill -9 of the master until the new master accepts a SET; $REPS runs each; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-48s %10s %8s  %s\n" configuration "median ms" ratio "all runs, ms"
REDIS_MEDIAN=$(median "${TIMES[redis]}")
row() { printf "%-48s %10s %8s  %s\n" "$1" "$2" "$3" "$4"; }
row "redis-server + redis-server --sentinel" "$REDIS_MEDIAN" "1.00" "${TIMES[redis]}"
if [ -n "$REDSIM_SENTINEL_PROBLEM" ]; then
  row "redsim-server + redsim-sentinel" "-" "-" "unavailable: redsim-sentinel $REDSIM_SENTINEL_PROBLEM"
else
  m=$(median "${TIMES[redsim]}")
  row "redsim-server + redsim-sentinel" "$m" "$(ratio "$REDIS_MEDIAN" "$m")" "${TIMES[redsim]}"
fi
m=$(median "${TIMES[real-sentinels]}")
row "redsim-server + redis-server --sentinel" "$m" "$(ratio "$REDIS_MEDIAN" "$m")" "${TIMES[real-sentinels]}"
