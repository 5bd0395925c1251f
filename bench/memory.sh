#!/usr/bin/env bash
# Memory: the same datasets loaded (redis-cli --pipe) into a real redis-server and into
# redsim-server, a fresh pair of servers per dataset, started here on free loopback ports with
# `save ""`. For each it prints both servers' RSS (from /proc) and INFO used_memory after the load,
# the redsim/Redis RSS ratio (target <= 1.00) and how far redsim's used_memory is from its own RSS
# (target within 15 %). Datasets (S scales them, default 1):
#   strings  1M keys key:N -> value:N          hashes  100k hashes of 10 fields
#   lists    100k lists of 10 elements         zsets   100k sorted sets of 10 members
#   ttl      1M keys with a time to live
# Usage: bench/memory.sh [dataset...]   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${S:-1}
REDIS=${REDIS:-redis-server}
source bench/lib.sh
require_tools "$REDIS" redis-cli python3
cargo build --release -q --bin redsim-server

# gen DATASET > FILE: the dataset's commands in RESP.
gen() {
  python3 - "$1" "$S" <<'PY'
import sys
name, scale = sys.argv[1], float(sys.argv[2])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
n = lambda base: int(base * scale)
if name == "strings":
    for i in range(n(1_000_000)):
        cmd(b"SET", b"key:%d" % i, b"value:%d" % i)
elif name == "ttl":
    for i in range(n(1_000_000)):
        cmd(b"SET", b"key:%d" % i, b"value:%d" % i, b"EX", b"%d" % (3600 + i % 1000))
elif name == "hashes":
    for i in range(n(100_000)):
        args = [b"HSET", b"hash:%d" % i]
        for f in range(10):
            args += [b"field:%d" % f, b"value:%d" % (i * 10 + f)]
        cmd(*args)
elif name == "lists":
    for i in range(n(100_000)):
        cmd(b"RPUSH", b"list:%d" % i, *[b"element:%d" % (i * 10 + e) for e in range(10)])
elif name == "zsets":
    for i in range(n(100_000)):
        args = [b"ZADD", b"zset:%d" % i]
        for m in range(10):
            args += [b"%d" % (m * 7 + i % 13), b"member:%d" % (i * 10 + m)]
        cmd(*args)
else:
    sys.exit(f"unknown dataset {name}")
PY
}

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
mb() { python3 -c "print(f'{$1/1048576:.1f}')"; }

# load DATASET PID PORT -> "rss used" after loading the dataset file.
load() {
  redis-cli -p "$3" --pipe < "$WORK/$1.resp" >/dev/null
  redis-cli -p "$3" DBSIZE >/dev/null
  echo "$(rss_bytes "$2") $(used_memory "$3")"
}

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(strings hashes lists zsets ttl)
printf "%-8s %10s %10s %10s %10s %7s %10s\n" dataset redis_rss redis_used redsim_rss redsim_used "rss x" "used/rss"
worst=0
for d in "${datasets[@]}"; do
  gen "$d" > "$WORK/$d.resp"
  rp=$(free_port); sp=$(free_port)
  "$REDIS" --port "$rp" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
  rpid=$!; PIDS+=($rpid)
  target/release/redsim-server --port "$sp" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  spid=$!; PIDS+=($spid)
  wait_up "$rp"; wait_up "$sp"
  read -r r_rss r_used < <(load "$d" "$rpid" "$rp")
  read -r s_rss s_used < <(load "$d" "$spid" "$sp")
  kill "$rpid" "$spid"; wait "$rpid" "$spid" 2>/dev/null || true
  x=$(ratio "$r_rss" "$s_rss")
  off=$(python3 -c "print(f'{$s_used/$s_rss:.2f}')")
  worst=$(python3 -c "print(max($worst, $x))")
  printf "%-8s %10s %10s %10s %10s %7s %10s\n" "$d" "$(mb "$r_rss")M" "$(mb "$r_used")M" \
    "$(mb "$s_rss")M" "$(mb "$s_used")M" "$x" "$off"
  rm -f "$WORK/$d.resp"
done
echo "worst RSS ratio: $worst (target <= 1.00); used/rss target 0.85..1.15"
