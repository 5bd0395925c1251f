#!/usr/bin/env bash
# Simulation speed (release build): simulated time per wall time for the 6-node failover scenario
# (3 servers, 3 Sentinels: sentinel-priority-zero.toml) and the 305-node scenario
# (sentinel-three-hundred-nodes.toml), and how many randomized 65-second Sentinel failover runs
# (sentinel-random-faults.toml) the machine plays per minute on all its cores. The `sim` sweep
# table reports the simulated/wall ratio; this script prints the three figures against their
# targets (>= 1000x, >= 100x, >= 200 per minute).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-400}
JOBS=${JOBS:-$(nproc)}
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q -p redsim-sim; fi
SIM=target/release/sim

# ratio SCENARIO SEEDS JOBS: the sweep's "simulated / wall" figure.
ratio() {
  "$SIM" sweep "$1" --seeds "1..=$2" --jobs "$3" 2>/dev/null | awk '/^simulated \/ wall/ {print $4}'
}
# wall SCENARIO SEEDS JOBS: the sweep's wall seconds.
wall() {
  "$SIM" sweep "$1" --seeds "1..=$2" --jobs "$3" 2>/dev/null | awk '/^wall time/ {sub("s","",$3); print $3}'
}

six=$(ratio scenarios/sentinel-priority-zero.toml 100 1)
big=$(ratio scenarios/sentinel-three-hundred-nodes.toml 1 1)
secs=$(wall scenarios/sentinel-random-faults.toml "$SEEDS" "$JOBS")
per_min=$(python3 -c "print(round($SEEDS * 60 / $secs))")
printf '%-62s %10s  %s\n' "figure" "measured" "target"
printf '%-62s %10s  %s\n' "6-node failover (sentinel-priority-zero), simulated/wall" "$six" ">= 1000x"
printf '%-62s %10s  %s\n' "305-node scenario (sentinel-three-hundred-nodes), simulated/wall" "$big" ">= 100x"
printf '%-62s %10s  %s\n' "randomized 65 s failover runs per minute ($JOBS jobs)" "$per_min" ">= 200"
