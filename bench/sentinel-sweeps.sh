#!/usr/bin/env bash
# The big Sentinel sweeps that do not fit in `cargo test` (release build): the Sentinel nemesis
# (scenarios/sentinel-nemesis.toml), the swarm (scenarios/sentinel-swarm.toml: every seed draws
# its own topology) and the randomized failover scenario (scenarios/sentinel-random-faults.toml),
# SEEDS seeds each (default 10000), in chunks of CHUNK seeds (default 1000) so a long run that is
# stopped keeps the summaries of the chunks it finished. Prints each chunk's summary table and its
# failing seeds with their replay commands (progress lines on stderr); every run is judged by the Sentinel promise checks
# (sim/src/sentinel_check.rs) as well as the scenario's. SCENARIOS overrides the list; run it
# under `nice -n 19` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-10000}
CHUNK=${CHUNK:-1000}
JOBS=${JOBS:-$(nproc)}
SCENARIOS=${SCENARIOS:-scenarios/sentinel-nemesis.toml scenarios/sentinel-swarm.toml scenarios/sentinel-random-faults.toml}
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q -p redsim-sim --bin sim; fi
SIM=${SIM:-target/release/sim}
status=0
for scenario in $SCENARIOS; do
  for ((first = 1; first <= SEEDS; first += CHUNK)); do
    last=$((first + CHUNK - 1 < SEEDS ? first + CHUNK - 1 : SEEDS))
    "$SIM" sweep "$scenario" --seeds "$first..=$last" --jobs "$JOBS" || status=1
  done
done
exit $status
