#!/bin/sh
# Sweeps the U280 design's structural parameters with `lmsim run --set` and `lmsim check --set`
# (issue "The LightMamba architecture as a template", part 6) and prints, per point, tokens/s on
# mamba2-2.7b and the resources against the paper's U280 row (297k LUT, 394k FF, 1,164 DSP,
# 912 BRAM18 = 456 BRAM36, 61 URAM; a point fits when each is at most 10 % above). The
# fastest fitting point is what configs/u280.json holds (docs/configuration.md "The U280 design").
#
#   scripts/u280-sweep.sh [build/lmsim] > sweep.tsv
set -eu
LMSIM=${1:-build/lmsim}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
printf 'mmu\tmasters\tstate_masters\tssmu_lanes\tht_state_ii\thtu_lanes\ttokens_per_s\tlut\tff\tdsp\tbram36\turam\tfits_paper_row\n'
# MMU input x output lanes and the masters that feed it one weight beat per cycle (256-bit HBM ports).
for mmu in 64x32:32 32x32:16; do
 for sm in 0 4; do
  il=${mmu%%x*}; rest=${mmu#*x}; ol=${rest%%:*}; masters=${mmu##*:}
  for lanes in 8 16 32 64 128; do
    for ii in 1 2; do
      for htu in 16 64; do
        sets="--set design.mmu.input_lanes=$il --set design.mmu.output_lanes=$ol --set design.axi.masters=$masters \
              --set design.axi.state_master.masters=$sm --set design.ssmu.lanes=$lanes --set design.ssmu.ht_state_ii=$ii --set design.htu.butterfly_lanes=$htu"
        # shellcheck disable=SC2086
        if ! "$LMSIM" run u280 --quiet --out "$TMP/run" $sets >"$TMP/log" 2>&1; then
          printf '%sx%s\t%s\t%s\t%s\t%s\t%s\trefused: %s\n' "$il" "$ol" "$masters" "$sm" "$lanes" "$ii" "$htu" \
            "$(grep -m1 'lmsim' "$TMP/log" | cut -c1-120)"
          continue
        fi
        rm -f "$TMP/check.json"
        # shellcheck disable=SC2086
        "$LMSIM" check u280 --json "$TMP/check.json" $sets >/dev/null 2>&1 || true
        python3 - "$TMP/run/report.json" "$TMP/check.json" "$il" "$ol" "$masters" "$sm" "$lanes" "$ii" "$htu" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
res = json.load(open(sys.argv[2]))["resources"]
paper = {"lut": 297e3, "ff": 394e3, "dsp": 1164, "bram36": 456, "uram": 61}
used = {k: res[k]["used"] for k in paper}
fits = all(used[k] <= 1.10 * paper[k] for k in paper)
il, ol, masters, sm, lanes, ii, htu = sys.argv[3:10]
print(f"{il}x{ol}\t{masters}\t{sm}\t{lanes}\t{ii}\t{htu}\t{run['decode']['tokens_per_s']:.2f}\t" +
      "\t".join(f"{used[k]:.0f}" for k in paper) + f"\t{'yes' if fits else 'no'}")
EOF
      done
    done
  done
 done
done
