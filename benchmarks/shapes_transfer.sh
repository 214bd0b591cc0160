#!/usr/bin/env bash
# The Shapes benchmark end to end on a CPU: source BigGAN, DeepI2I transferred from it, DeepI2I
# (scratch), and both evaluated with the same protocol. Results are recorded in docs/results/shapes.md.
#
#   bash benchmarks/shapes_transfer.sh [WORK_DIR]      (default /tmp/deepi2i-shapes)
#
# Rerunning resumes every unfinished step (training resumes from its newest checkpoint).
# THREADS (default 1) sets torch's threads per job; the two training jobs of the record ran side
# by side with one thread each on the 2-core machine.
set -euo pipefail
WORK=${1:-/tmp/deepi2i-shapes}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
D=${DEEPI2I:-deepi2i}
mkdir -p "$WORK" && cd "$WORK"
common=(--preset shapes64 --no-progress --log-every 50 --sample-every 250 --checkpoint-every 250)

[ -d src ] || $D shapes src --domain source --resolution 64 --seed 0
[ -d trg ] || $D shapes trg --domain target --resolution 64 --seed 0
$D pretrain --data src --out pre "${common[@]}"
$D train --data trg --source pre/export --out i2i --class-map names "${common[@]}"
$D train --data trg --scratch --out scratch "${common[@]}"
for run in i2i scratch; do
  [ -f "eval-$run/report.json" ] || $D evaluate --model $run/export --data trg --out eval-$run \
      --extractor classifier --per-class 500 --metrics fid,kid,rc,fc,pose --cache-dir eval-cache --quiet
done
$D evaluate-compare eval-i2i eval-scratch --labels "DeepI2I" "DeepI2I (scratch)" --out table.md
cat table.md
