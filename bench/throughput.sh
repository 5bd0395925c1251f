#!/usr/bin/env bash
# Throughput: redis-benchmark -c 50 -n $N over set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset
# at -P 1 and -P 16, plus set,get with -d 1024 values, against a real redis-server and against
# redsim-server, started here on free ports, in the same run. Both servers are pinned to core 0
# and the benchmark client to core 1 (`taskset`), so neither server gets more CPU than the other.
# Each figure is the median of $RUNS runs (the two servers alternate). Prints requests/s for each
# and the redsim/Redis ratio, and the worst ratio at each -P (targets: >= 1.0 at -P 1, >= 1.2 at
# -P 16). `TESTS` narrows the test list (e.g. TESTS="set get"), `SIZED_TESTS` the -d 1024 one (empty: none).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300000}
RUNS=${RUNS:-3}
TESTS=${TESTS:-"set get incr lpush rpop sadd hset zadd lrange_100 mset"}
SIZED_TESTS=${SIZED_TESTS-"set get"}
source bench/lib.sh
require_tools redis-server redis-benchmark redis-cli python3 taskset
cargo build --release -q --bin redsim-server
REDIS_PORT=$(free_port); REDSIM_PORT=$(free_port)
taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize no >/dev/null &
PIDS+=($!)
taskset -c 0 target/release/redsim-server --port "$REDSIM_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no >/dev/null &
PIDS+=($!)
wait_up "$REDIS_PORT"; wait_up "$REDSIM_PORT"

# rps PORT PIPELINE TEST [SIZE] -> requests per second of TEST (the last CSV row: lrange_100
# first runs the LPUSH that fills its list).
rps() {
  taskset -c 1 redis-benchmark -p "$1" -t "$3" -c 50 -n "$N" -P "$2" -d "${4:-3}" --csv -q \
    2>/dev/null | tail -n 1 | awk -F'","' '{ print $2 }'
}

# median of the arguments
median() { python3 -c 'import sys, statistics; print(statistics.median(map(float, sys.argv[1:])))' "$@"; }

RESULTS=$WORK/results
# measure PIPELINE SIZE TEST: one result line "P LABEL REDIS REDSIM"
measure() {
  local r=() s=()
  for _ in $(seq "$RUNS"); do
    r+=("$(rps "$REDIS_PORT" "$1" "$3" "$2")"); s+=("$(rps "$REDSIM_PORT" "$1" "$3" "$2")")
  done
  local label=$3
  [ "$2" = 3 ] || label="$3 -d$2"
  echo "$1 $label $(median "${r[@]}") $(median "${s[@]}")" | tee -a "$RESULTS" >&2
}

for p in 1 16; do
  for t in $TESTS; do measure "$p" 3 "$t"; done
  for t in $SIZED_TESTS; do measure "$p" 1024 "$t"; done
done

echo "N=$N runs=$RUNS (median), -c 50, servers on core 0, client on core 1"
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{'test':<20} {'redis':>12} {'redsim':>12} {'ratio':>7}")
worst = {}
for p, *label, r, s in rows:
    ratio = float(s) / float(r)
    worst[p] = min(worst.get(p, ratio), ratio)
    print(f"{' '.join(label) + ' -P' + p:<20} {float(r):>12,.0f} {float(s):>12,.0f} {ratio:>7.2f}")
for p, target in (("1", 1.0), ("16", 1.2)):
    if p in worst:
        print(f"worst ratio at -P {p}: {worst[p]:.2f} (target >= {target})")
PY
