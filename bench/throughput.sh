#!/usr/bin/env bash
# Throughput: redis-benchmark -t set,get -c 50 -n 300000 with -P 1 and -P 16 against a real
# redis-server and against redsim-server, started here on free ports, in the same run.
# Prints requests/s for each and the redsim/Redis ratio (target >= 0.8 on all four figures).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300000}
source bench/lib.sh
require_tools redis-server redis-benchmark redis-cli python3
cargo build --release -q --bin redsim-server
REDIS_PORT=$(free_port); REDSIM_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
PIDS+=($!)
target/release/redsim-server --port "$REDSIM_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
PIDS+=($!)
wait_up "$REDIS_PORT"; wait_up "$REDSIM_PORT"

# rps PORT PIPELINE TEST -> requests per second
rps() {
  redis-benchmark -p "$1" -t "$3" -c 50 -n "$N" -P "$2" --csv -q 2>/dev/null \
    | awk -F'","' -v t="$(echo "$3" | tr a-z A-Z)" '$1 == "\"" t { print $2 }'
}
printf "%-10s %14s %14s %8s\n" test redis redsim ratio
worst=999
for p in 1 16; do
  for t in set get; do
    r=$(rps "$REDIS_PORT" "$p" "$t"); s=$(rps "$REDSIM_PORT" "$p" "$t")
    ratio=$(python3 -c "print(f'{$s/$r:.2f}')")
    worst=$(python3 -c "print(min($worst, $ratio))")
    printf "%-10s %14s %14s %8s\n" "$t -P$p" "$r" "$s" "$ratio"
  done
done
echo "worst ratio: $worst (target >= 0.8)"
