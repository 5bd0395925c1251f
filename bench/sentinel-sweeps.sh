#!/usr/bin/env bash
# The big Sentinel sweeps that do not fit in `cargo test` (release build): the Sentinel nemesis
# (scenarios/sentinel-nemesis.toml) and the randomized failover scenario
# (scenarios/sentinel-random-faults.toml) over SEEDS seeds each (default 10000) on all cores.
# Prints each sweep's summary table and its failing seeds with their replay commands; every run
# is judged by the Sentinel promise checks (sim/src/sentinel_check.rs) as well as the scenario's.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-10000}
JOBS=${JOBS:-$(nproc)}
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q -p redsim-sim --bin sim; fi
status=0
for scenario in scenarios/sentinel-nemesis.toml scenarios/sentinel-random-faults.toml; do
  target/release/sim sweep "$scenario" --seeds "1..=$SEEDS" --jobs "$JOBS" 2>/dev/null || status=1
done
exit $status
