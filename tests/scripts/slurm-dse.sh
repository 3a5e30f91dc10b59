#!/usr/bin/env bash
# CTest `dse-slurm` (label slurm): `lmsim dse --slurm` on a real one-node Slurm cluster
# (scripts/slurm-local.sh). Submits a 4-shard sweep through sbatch, waits for the array and
# the dependent merge job, and checks that the merged results equal a single-process run of the
# same sweep (every record's metrics by config hash, and pareto.csv).
#   tests/scripts/slurm-dse.sh LMSIM SOURCE_DIR
set -euo pipefail
lmsim=$1
src=$2
"$src/scripts/slurm-local.sh" start
work=$(mktemp -d /tmp/lmsim-slurm-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/sweep.json" <<JSON
{"base": "vck190", "model": "mamba2-tiny",
 "parameters": {"design.mmu.input_lanes": {"values": [8, 16]}, "design.ssmu.lanes": {"values": [8, 16]},
                "design.clock_mhz": {"values": [300, 400]}},
 "ties": {"design.axi.masters": "design.mmu.input_lanes * design.mmu.output_lanes * 4 / design.axi.width_bits"}}
JSON
"$lmsim" dse "$work/sweep.json" --out "$work/cluster" --slurm --shards 4 --fidelity cycle | tee "$work/submit.log"
merge_job=$(sed -n 's/.* and merge job \([0-9]*\);.*/\1/p' "$work/submit.log")
[ -n "$merge_job" ] || { echo "no merge job id in the submit output" >&2; exit 1; }
# Wait for the merge job to leave the queue (at most 10 minutes).
for _ in $(seq 1 600); do
  squeue -h -j "$merge_job" 2>/dev/null | grep -q . || break
  sleep 1
done
if [ ! -s "$work/cluster/merged/results.jsonl" ]; then
  echo "the merge job left no results; its log and the shards':" >&2
  cat "$work/cluster/slurm/"*.log >&2 || true
  exit 1
fi
"$lmsim" dse "$work/sweep.json" --out "$work/single" --fidelity cycle --quiet > /dev/null
python3 - "$work/cluster/merged" "$work/single" <<'PY'
import json, sys
def records(d):
    out = {}
    for line in open(d + "/results.jsonl"):
        r = json.loads(line)
        out[(r["config_hash"], r["fidelity"])] = r["metrics"]
    return out
merged, single = records(sys.argv[1]), records(sys.argv[2])
import os
shards = [records(os.path.join(os.path.dirname(sys.argv[1]), "shards", str(k))) for k in range(1, 5)]
assert sum(len(s) for s in shards) == 8, f"the shards hold {[len(s) for s in shards]} records, expected 8 in all"
assert len(set().union(*[set(s) for s in shards])) == 8, "the shards overlap"
assert len(single) == 8, f"single run: {len(single)} records, expected 8"
assert merged == single, f"merged ({len(merged)} records) differs from the single-process run ({len(single)})"
assert open(sys.argv[1] + "/pareto.csv").read() == open(sys.argv[2] + "/pareto.csv").read(), "pareto.csv differs"
print(f"slurm: {len(merged)} records merged from 4 array tasks equal the single-process run")
PY
