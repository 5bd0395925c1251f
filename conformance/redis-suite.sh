#!/usr/bin/env bash
# Runs Redis 7.2.6's own test suites (tests/sentinel and units of the main suite) against redsim's
# binaries, or against the reference build itself, and judges the results against
# conformance/expected-failures.txt: a test that fails without being listed, or a listed test that
# now passes, makes the run fail (exit 1).
#
#   conformance/redis-suite.sh [TARGET] [SELECTION] [OPTIONS]
#
# TARGET (which binaries stand at the suite tree's src/redis-server and src/redis-sentinel):
#   (default)                      redsim-server and redsim-sentinel
#   --reference                    the Redis 7.2.6 reference build (it must pass its own units)
#   --mixed redsim-sentinels       real 7.2.6 servers watched by redsim Sentinels (Sentinel suite)
#   --mixed real-sentinels         redsim servers watched by real 7.2.6 Sentinels (Sentinel suite)
# SELECTION (default: --set ci):
#   --set ci | all                 a named list of units (see units_of below)
#   --sentinel                     the whole Sentinel suite
#   --unit UNIT                    one main-suite unit (integration/replication, unit/type/list, ...)
#                                  or Sentinel unit (sentinel/05-manual); may be repeated
# OPTIONS:
#   --expect FILE                  expectations (default conformance/expected-failures.txt)
#   --no-build                     use target/release binaries as they are
#   --out DIR                      where suite trees and logs go (default target/conformance)
#   --timeout S                    wall-clock limit per unit (default 1800)
#   --retries N                    run a unit judged wrong again, up to N times (default 0); the last
#                                  run counts and the report says the unit was retried
#   --baseport P                   first port of the main suite's servers (default 21111; give runs
#                                  that share a machine different ones, e.g. 13000; the suite also
#                                  binds P+10000 and up to P+8000, so P <= 47000)
#
# The reference is built (once) by ../shared/redis/build-reference.sh, whose unpacked tree holds the
# suites; each target gets its own copy of tests/ under --out with src/ symlinked to the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${REDSIM_SHARED:-$repo/../shared}
target=redsim
selection=()
set_name=""
expect="$here/expected-failures.txt"
build=1
out="$repo/target/conformance"
unit_timeout=1800
baseport=21111
retries=0

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --reference) target=reference ;;
    --mixed)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      case $2 in redsim-sentinels|real-sentinels) target=$2 ;; *) echo "unknown mixed mode: $2" >&2; exit 2 ;; esac
      shift ;;
    --set) [ $# -ge 2 ] || { usage >&2; exit 2; }; set_name=$2; shift ;;
    --sentinel) selection+=(sentinel) ;;
    --unit) [ $# -ge 2 ] || { usage >&2; exit 2; }; selection+=("$2"); shift ;;
    --expect) [ $# -ge 2 ] || { usage >&2; exit 2; }; expect=$2; shift ;;
    --no-build) build=0 ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
    --timeout) [ $# -ge 2 ] || { usage >&2; exit 2; }; unit_timeout=$2; shift ;;
    --retries) [ $# -ge 2 ] || { usage >&2; exit 2; }; retries=$2; shift ;;
    --baseport) [ $# -ge 2 ] || { usage >&2; exit 2; }; baseport=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# The named unit lists. "ci" is what .ci/run runs; "all" is every unit the conformance issue names.
units_of() {
  local repl="integration/replication integration/replication-2 integration/replication-3
    integration/replication-4 integration/replication-psync integration/psync2 integration/psync2-reg
    integration/psync2-pingoff integration/psync2-master-restart integration/failover integration/block-repl"
  case $1 in
    ci) echo "sentinel $repl" ;;
    all) echo "sentinel $repl integration/rdb integration/aof integration/aof-multi-part integration/shutdown
      unit/type/incr unit/type/string unit/type/list unit/type/hash unit/type/set unit/type/zset
      unit/expire unit/keyspace unit/scan unit/multi unit/pubsub unit/pubsubshard unit/protocol unit/auth unit/info unit/wait
      unit/quit unit/other unit/introspection unit/introspection-2 unit/dump unit/tracking" ;;
    *) echo "unknown unit set: $1 (ci, all)" >&2; return 2 ;;
  esac
}
if [ -n "$set_name" ]; then
  read -r -a named <<<"$(units_of "$set_name" | tr '\n' ' ')"
  selection+=("${named[@]}")
fi
[ ${#selection[@]} -gt 0 ] || read -r -a selection <<<"$(units_of ci | tr '\n' ' ')"
case $target in
  redsim-sentinels|real-sentinels)
    for u in "${selection[@]}"; do
      case $u in sentinel|sentinel/*) ;; *) echo "--mixed runs only the Sentinel suite (--sentinel)" >&2; exit 2 ;; esac
    done ;;
esac

command -v tclsh >/dev/null || { echo "tclsh is missing: apt-get install tcl" >&2; exit 2; }
ref_bin=$("$shared/redis/build-reference.sh")
ref_tree=$(dirname "$ref_bin")
if [ "$target" != reference ] && [ $build = 1 ]; then
  (cd "$repo" && cargo build --release --bins -p redsim)
fi
ours="$repo/target/release"

# The suite tree: a fresh copy of the reference's tests with src/ pointing at the chosen binaries.
tree="$out/$target"
rm -rf "$tree"
mkdir -p "$tree/src" "$out/logs-$target"
cp -a "$ref_tree/tests" "$ref_tree/runtest" "$ref_tree/runtest-sentinel" "$tree/"
for f in "$ref_bin"/redis-*; do
  [ -x "$f" ] && [ ! -d "$f" ] && ln -sf "$f" "$tree/src/$(basename "$f")"
done
case $target in
  redsim) ln -sf "$ours/redsim-server" "$tree/src/redis-server"; ln -sf "$ours/redsim-sentinel" "$tree/src/redis-sentinel" ;;
  redsim-sentinels) ln -sf "$ours/redsim-sentinel" "$tree/src/redis-sentinel" ;;
  real-sentinels) ln -sf "$ours/redsim-server" "$tree/src/redis-server" ;;
esac
logs="$out/logs-$target"
rm -f "$logs"/*.log

echo "conformance: target $target, units: ${selection[*]}"
echo "conformance: suite tree $tree, logs $logs"
# A unit cut short (by its own timeout or ours) can leave servers running; anything whose working
# directory is inside the suite tree is ours, and goes before the next unit starts.
reap_strays() {
  local p cwd
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $cwd in "$tree"|"$tree"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
  done
}

# run_unit UNIT LOG: one main-suite unit, a whole Sentinel suite ("sentinel"), or one Sentinel unit
# ("sentinel/05-manual"); prints the report's KIND:UNIT:LOG argument for it.
run_unit() {
  local u=$1 log=$2 start kind=main
  start=$(date +%s)
  case $u in
    sentinel) (cd "$tree" && timeout --kill-after=30 "$unit_timeout" ./runtest-sentinel) >"$log" 2>&1 </dev/null || true
      kind=sentinel ;;
    sentinel/*) (cd "$tree" && timeout --kill-after=30 "$unit_timeout" ./runtest-sentinel --single "${u#sentinel/}") \
        >"$log" 2>&1 </dev/null || true
      kind=sentinel ;;
    *)
      # The test server's own port is probed, then bound: another run on the machine can take it in
      # between. That start-up failure (nothing tested yet) is retried.
      for attempt in 1 2 3; do
        (cd "$tree" && timeout --kill-after=30 "$unit_timeout" ./runtest --single "$u" --clients 1 --durable \
          --timeout 600 --baseport "$baseport") >"$log" 2>&1 </dev/null || true
        grep -qE "^(couldn't open socket: address already in use|Can't find a non busy port)" "$log" || break
        sleep "$attempt"
      done ;;
  esac
  reap_strays
  echo "conformance: ran $u in $(( $(date +%s) - start )) s" >&2
  echo "$kind:$u:$log"
}

runs=()
for u in "${selection[@]}"; do
  runs+=("$(run_unit "$u" "$logs/$(echo "$u" | tr '/' '_').log")")
done
judge() { python3 "$here/report.py" --target "$target" --expect "$expect" "$@" "${runs[@]}"; }
for attempt in $(seq 1 "$retries"); do
  bad="$logs/judged-wrong.txt"
  judge --failed-units "$bad" >/dev/null && break
  while read -r u; do
    echo "conformance: retrying $u (attempt $((attempt + 1)))" >&2
    runs+=("$(run_unit "$u" "$logs/$(echo "$u" | tr '/' '_').retry$attempt.log")")
  done <"$bad"
done
judge
