#!/usr/bin/env bash
# Replication: for real Redis and for redsim, in the same run, a master loaded with N keys and a
# fresh replica of the same kind: time from REPLICAOF until the replica is online with every key
# (full sync), then, under a redis-benchmark SET load on the master, the largest replication lag
# seen (master_repl_offset - replica offset, sampled every 5 ms) and the time the replica needs to
# catch up after the load stops. Prints both and redsim/Redis ratios (target: sync time <= 1.0x).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
LOAD=${LOAD:-300000}
source bench/lib.sh
require_tools redis-server redis-cli redis-benchmark python3
cargo build --release -q --bin redsim-server
write_load "$N" "$WORK/load.resp"

start() { # start KIND NAME PORT [args...]
  local kind=$1 name=$2 port=$3; shift 3
  mkdir -p "$WORK/$name"
  if [ "$kind" = redis ]; then
    # No diskless-sync delay: measure the transfer, not Redis' 5 s wait for more replicas.
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --repl-diskless-sync-delay 0 --dir "$WORK/$name" --logfile "$WORK/$name.log" "$@" &
  else
    target/release/redsim-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/$name" --logfile "$WORK/$name.log" "$@" &
  fi
  PIDS+=($!)
  wait_up "$port"
}

cat > "$WORK/repl.py" <<'PY'
import socket, sys, time, subprocess
mode, master, replica = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def conn(port):
    s = socket.create_connection(("127.0.0.1", port)); return s, s.makefile("rb")
def call(c, *args):
    s, f = c
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    line = f.readline()
    if line.startswith(b"$"):
        return f.read(int(line[1:]) + 2)[:-2].decode()
    return line.rstrip(b"\r\n").decode()
def info(c):
    return dict(l.split(":", 1) for l in call(c, b"INFO", b"replication").split("\r\n") if ":" in l)
m, r = conn(master), conn(replica)
if mode == "sync":
    want = call(m, b"DBSIZE")
    t0 = time.perf_counter()
    call(r, b"REPLICAOF", b"127.0.0.1", str(master).encode())
    while True:
        i = info(r)
        if i.get("master_link_status") == "up" and call(r, b"DBSIZE") == want:
            break
        time.sleep(0.005)
    print("%.0f" % ((time.perf_counter() - t0) * 1e3))
else:
    load = int(sys.argv[4])
    bench = subprocess.Popen(["redis-benchmark", "-p", str(master), "-t", "set", "-n", str(load), "-c", "50",
                              "-P", "16", "-r", "100000", "-q"], stdout=subprocess.DEVNULL)
    worst = 0
    while bench.poll() is None:
        lag = int(info(m)["master_repl_offset"]) - int(info(r).get("slave_repl_offset", "0"))
        worst = max(worst, lag)
        time.sleep(0.005)
    t0 = time.perf_counter()
    while int(info(r).get("slave_repl_offset", "0")) < int(info(m)["master_repl_offset"]):
        time.sleep(0.001)
    print("%d %.1f" % (worst, (time.perf_counter() - t0) * 1e3))
PY

declare -A SYNC LAG CATCHUP
for kind in redis redsim; do
  mp=$(free_port); rp=$(free_port)
  start "$kind" "$kind-master" "$mp"
  start "$kind" "$kind-replica" "$rp"
  redis-cli -p "$mp" --pipe < "$WORK/load.resp" >/dev/null
  SYNC[$kind]=$(python3 "$WORK/repl.py" sync "$mp" "$rp")
  read -r LAG[$kind] CATCHUP[$kind] < <(python3 "$WORK/repl.py" lag "$mp" "$rp" "$LOAD")
done

echo "keys: $N; write load: redis-benchmark -t set -n $LOAD -c 50 -P 16; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-36s %12s %12s %8s\n" figure redis redsim ratio
row() { printf "%-36s %12s %12s %8s\n" "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "full sync of a fresh replica, ms" "${SYNC[redis]}" "${SYNC[redsim]}"
row "worst lag under load, bytes" "${LAG[redis]}" "${LAG[redsim]}"
row "catch-up after load, ms" "${CATCHUP[redis]}" "${CATCHUP[redsim]}"
