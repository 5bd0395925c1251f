# Shared by the benchmark scripts: tool checks, free ports, waiting for a server, a RESP load file,
# and process/temp-dir cleanup. Source it from a script that did `cd` to the repository root.

require_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-server redis-tools" >&2; exit 2; }
  done
}

# A free TCP port on loopback, never Redis' defaults.
free_port() {
  python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p not in (6379, 26379):
        print(p); break'
}

# free_ports N: N distinct free TCP ports on loopback (all bound at once while picking them).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
    p = s.getsockname()[1]
    if p not in (6379, 26379):
        ports.append(p)
print(" ".join(map(str, ports)))
PY
}

wait_up() { for _ in $(seq 200); do redis-cli -p "$1" PING >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "port $1 not up" >&2; exit 1; }

# write_load N FILE: N SET commands in RESP (key:i -> value:i), for redis-cli --pipe.
write_load() {
  python3 - "$1" > "$2" <<'PY'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    k, v = b"key:%d" % i, b"value:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
}

# Background processes to stop and a temp dir to remove on exit.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ratio() { python3 -c "print(f'{$2/$1:.2f}' if $1 else 'n/a')"; }
