#!/usr/bin/env bash
# Persistence: a real redis-server and redsim-server, started here on free ports with `save ""` and
# their own temporary dirs, each loaded with the same N keys (SET key:N value:N through
# redis-cli --pipe). For each it measures SAVE time, BGSAVE wall time (BGSAVE until INFO persistence
# shows rdb_bgsave_in_progress:0) and the worst PING round trip a concurrent client sees during the
# BGSAVE. BGSAVE figures are the median of RUNS runs. Prints a table with redsim/Redis ratios
# (target: worst latency during BGSAVE <= 2x Redis'). Servers and temp dirs are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-5}
source bench/lib.sh
require_tools redis-server redis-cli python3
cargo build --release -q --bin redsim-server

mkdir -p "$WORK/redis" "$WORK/redsim"

REDIS_PORT=$(free_port); REDSIM_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$WORK/redis" --logfile "$WORK/redis.log" &
PIDS+=($!)
target/release/redsim-server --port "$REDSIM_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$WORK/redsim" --logfile "$WORK/redsim.log" &
PIDS+=($!)
wait_up "$REDIS_PORT"; wait_up "$REDSIM_PORT"

# The same SET commands for both servers, in RESP.
write_load "$N" "$WORK/load.resp"

# measure.py save|bgsave PORT RUNS -> figures in ms on one line.
cat > "$WORK/measure.py" <<'PY'
import socket, statistics, sys, threading, time

mode, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile("rb")

def call(conn, *args):
    s, f = conn
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    line = f.readline()
    if line.startswith(b"$"):
        return f.read(int(line[1:]) + 2)[:-2]
    if line.startswith(b"-"):
        raise SystemExit("error reply: %r" % line)
    return line.rstrip(b"\r\n")

def info(conn):
    text = call(conn, b"INFO", b"persistence").decode()
    return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)

def bgsave_once(ctl):
    stop, ready, rtts = threading.Event(), threading.Event(), []
    def probe():
        conn = connect()
        ready.set()
        while not stop.is_set():
            t = time.perf_counter()
            call(conn, b"PING")
            rtts.append(time.perf_counter() - t)
    th = threading.Thread(target=probe)
    th.start()
    ready.wait()
    time.sleep(0.05)
    rtts.clear()
    t0 = time.perf_counter()
    call(ctl, b"BGSAVE")
    while info(ctl)["rdb_bgsave_in_progress"] != "0":
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if info(ctl)["rdb_last_bgsave_status"] != "ok":
        raise SystemExit("BGSAVE failed")
    rtts.sort()
    return wall * 1e3, rtts[-1] * 1e3, rtts[int(len(rtts) * 0.99)] * 1e3, len(rtts)

ctl = connect()
if mode == "save":
    t0 = time.perf_counter()
    call(ctl, b"SAVE")
    print("%.0f" % ((time.perf_counter() - t0) * 1e3))
else:
    results = [bgsave_once(ctl) for _ in range(runs)]
    wall, worst, p99, pings = (statistics.median(col) for col in zip(*results))
    print("%.0f %.2f %.2f %d" % (wall, worst, p99, pings))
PY

declare -A SAVE BGSAVE WORST P99 PINGS KEYS SIZE
for name in redis redsim; do
  port=$([ "$name" = redis ] && echo "$REDIS_PORT" || echo "$REDSIM_PORT")
  redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
  KEYS[$name]=$(redis-cli -p "$port" DBSIZE)
  SAVE[$name]=$(python3 "$WORK/measure.py" save "$port" 1)
  SIZE[$name]=$(stat -c %s "$WORK/$name/dump.rdb")
  read -r BGSAVE[$name] WORST[$name] P99[$name] PINGS[$name] < <(python3 "$WORK/measure.py" bgsave "$port" "$RUNS")
done

FORK_US=$(redis-cli -p "$REDIS_PORT" INFO stats | tr -d '\r' | awk -F: '$1 == "latest_fork_usec" { print $2 }')

echo "keys: redis ${KEYS[redis]}, redsim ${KEYS[redsim]}; BGSAVE figures: median of $RUNS runs;" \
  "Redis' last fork took ${FORK_US} us; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-34s %12s %12s %8s\n" figure redis redsim ratio
row() { printf "%-34s %12s %12s %8s\n" "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "dump.rdb bytes" "${SIZE[redis]}" "${SIZE[redsim]}"
row "SAVE ms" "${SAVE[redis]}" "${SAVE[redsim]}"
row "BGSAVE wall ms" "${BGSAVE[redis]}" "${BGSAVE[redsim]}"
row "worst PING during BGSAVE ms" "${WORST[redis]}" "${WORST[redsim]}"
row "p99 PING during BGSAVE ms" "${P99[redis]}" "${P99[redsim]}"
row "PINGs answered during BGSAVE" "${PINGS[redis]}" "${PINGS[redsim]}"
verdict=$(python3 -c "print('met' if ${WORST[redsim]} <= 2 * ${WORST[redis]} else 'NOT met')")
echo "worst-latency target (redsim <= 2x Redis): $verdict"
