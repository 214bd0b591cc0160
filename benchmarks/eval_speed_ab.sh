#!/usr/bin/env bash
# Time `deepi2i evaluate` from two source trees on the same model and data, interleaved in one run
# (old, new, old, new, ...), so that the ratio holds on this machine whatever its speed.
#   bash benchmarks/eval_speed_ab.sh OLD_SRC NEW_SRC MODEL DATA [PER_CLASS] [ROUNDS]
# OLD_SRC / NEW_SRC: folders holding the `deepi2i` package (e.g. a `git worktree` of an older commit's src).
# Each run starts cold, with its own empty cache folder (so it trains the RC classifier for 5 epochs
# and embeds the real images itself, as a first evaluation does), and writes its report under $OUT
# (default: a temporary folder); the script checks that both sides' summaries agree.
set -euo pipefail
old=$1 new=$2 model=$3 data=$4 per_class=${5:-500} rounds=${6:-1}
out=${OUT:-$(mktemp -d)}
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    src=$old; [ "$side" = new ] && src=$new
    start=$(date +%s.%N)
    PYTHONPATH=$src python -m deepi2i evaluate --model "$model" --data "$data" --out "$out/$side-$round" \
      --extractor classifier --metrics fid,kid,rc,pose --per-class "$per_class" \
      --kid-subset-size "$per_class" --classifier-epochs 5 --cache-dir "$out/$side-$round/cache" --quiet --overwrite > "$out/$side-$round.log" 2>&1
    echo "round $round $side: $(python -c "import time; print(f'{time.time() - $start:.1f}')") s"
  done
  python - "$out/old-$round/report.json" "$out/new-$round/report.json" <<'PY'
import json, math, sys

a, b = (json.load(open(p))["summary"] for p in sys.argv[1:])
same = a.keys() == b.keys() and all(
    a[k] == b[k] or (isinstance(a[k], float) and math.isclose(a[k], b[k], rel_tol=1e-4)) for k in a
)  # float rounding may differ between the two trees' arithmetic order
print("reports agree (to 1e-4)" if same else f"reports differ:\n old {a}\n new {b}")
PY
done
echo "reports and logs in $out"
