#!/usr/bin/env bash
# Simulation speed (release build): simulated time per wall time for the 6-node failover scenario
# (3 servers, 3 Sentinels: sentinel-priority-zero.toml) and the 305-node scenario
# (sentinel-three-hundred-nodes.toml), and how many randomized 65-second Sentinel failover runs
# (sentinel-random-faults.toml) the machine plays per minute on all its cores. The `sim` sweep
# table reports the simulated/wall ratio; this script prints the three figures against their
# targets (>= 1000x, >= 100x, >= 200 per minute), and the ceiling madsim alone sets for the
# 305-node scenario: its own cost for the same nodes, links, messages per simulated second and
# cron ticks with handlers that do nothing (sim/examples/net_floor.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-400}
JOBS=${JOBS:-$(nproc)}
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q -p redsim-sim --bin sim --example net_floor; fi
SIM=target/release/sim

# sweep SCENARIO SEEDS JOBS: the sweep's summary table.
sweep() {
  "$SIM" sweep "$1" --seeds "1..=$2" --jobs "$3" 2>/dev/null
}
# field ROW: the last word of that row of a summary table on stdin ("simulated / wall", ...).
field() {
  awk -v row="$1" 'index($0, row) == 1 {print $NF}'
}

six=$(sweep scenarios/sentinel-priority-zero.toml 100 1 | field "simulated / wall")
big_table=$(sweep scenarios/sentinel-three-hundred-nodes.toml 1 1)
big=$(field "simulated / wall" <<<"$big_table")
traffic=$(field "messages / sim s" <<<"$big_table")
floor=$(target/release/examples/net_floor 300 5 "$traffic" | awk '{print $NF}')
secs=$(sweep scenarios/sentinel-random-faults.toml "$SEEDS" "$JOBS" | field "wall time" | tr -d s)
per_min=$(python3 -c "print(round($SEEDS * 60 / $secs))")
printf '%-62s %10s  %s\n' "figure" "measured" "target"
printf '%-62s %10s  %s\n' "6-node failover (sentinel-priority-zero), simulated/wall" "$six" ">= 1000x"
printf '%-62s %10s  %s\n' "305-node scenario (sentinel-three-hundred-nodes), simulated/wall" "$big" ">= 100x"
printf '%-62s %10s  %s\n' "  madsim alone at its $traffic messages / sim s (the ceiling)" "$floor" "-"
printf '%-62s %10s  %s\n' "randomized 65 s failover runs per minute ($JOBS jobs)" "$per_min" ">= 200"
