#!/bin/bash
# Every GPU check in one command (a lent GPU's time is short): the CUDA tests, then speed.py's
# paper-size figures (ch 96, batch 32) in float32 (TF32), in bf16 with channels_last, and with
# torch.compile, and the profiles of a paper-size step. Each part has its own time limit and all of
# them a common deadline, so one that hangs cannot take the others down.
#
#   bash benchmarks/gpu_check.sh [OFFICIAL_DIR]     # results in $OUT (default /tmp/deepi2i-gpu), 8 files
#
# OFFICIAL_DIR: a checkout of yaxingwang/DeepI2I's DeepI2I_BigGAN folder, timed beside ours.
# Runs from the repository root with the package on PYTHONPATH, so it needs no install; wheels in
# an optional, untracked .whl/ folder (missing dependencies, e.g. torch-fidelity and lpips) are installed
# into /tmp first; without it the machine's packages are used.
set -u
OUT=${OUT:-/tmp/deepi2i-gpu}
OFFICIAL=${1:-}
PY=${PYTHON:-python3}
DEADLINE=${DEADLINE:-560} # seconds from the start: later parts are cut short or skipped to end by then
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
step() { # name, limit in seconds, command...: output appended to $OUT/name; the limit is cut to the deadline
  local name=$1 limit=$2 t0=$SECONDS rc
  shift 2
  ((limit > DEADLINE - SECONDS)) && limit=$((DEADLINE - SECONDS))
  if ((limit < 20)); then
    echo "$(date +%T) $name: skipped, $limit s left before the deadline"
    return
  fi
  rm -f /tmp/deepi2i-speed.json
  timeout "$limit" "$@" >>"$OUT/$name" 2>&1
  rc=$?
  echo "$(date +%T) $name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
}
{ nvidia-smi; $PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"; } >"$OUT/env.txt" 2>&1
step env.txt 60 $PY -c "import deepi2i.training, deepi2i.translate, deepi2i.metrics; print('imports ok')"
grep -q "imports ok" "$OUT/env.txt" || { cat "$OUT/env.txt"; exit 1; }
step pytest.log 100 $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py \
  tests/test_translate.py::test_cuda_matches_cpu_up_to_float_rounding
tail -n 3 "$OUT/pytest.log"
SPEED=($PY benchmarks/speed.py --device cuda --threads 8 --train-ch 96 --train-batch 32 --translate-batch 32
  --rounds 1 --no-append)
step speed-fp32.md 220 "${SPEED[@]}" ${OFFICIAL:+--official "$OFFICIAL"}
cp /tmp/deepi2i-speed.json "$OUT/speed-fp32.json" 2>/dev/null
step speed-bf16-cl.md 120 "${SPEED[@]}" --only peak,train128,translate149 --steps 12 --amp bf16 --channels-last
cp /tmp/deepi2i-speed.json "$OUT/speed-bf16-cl.json" 2>/dev/null
PROFILE=($PY benchmarks/profile_step.py --device cuda --threads 8 --steps 6 --rows 25 --ch 96 --batch 32)
step prof-paper128.txt 90 "${PROFILE[@]}" --amp bf16
step prof-paper128.txt 70 "${PROFILE[@]}"
step speed-compile.md 120 "${SPEED[@]}" --only train128 --compile
for f in speed-fp32.md speed-bf16-cl.md speed-compile.md; do
  echo "== $f"
  grep -E "^\||^- |Error|error" "$OUT/$f" 2>/dev/null | tail -n 14
done
echo "== prof-paper128.txt (bf16, then float32)"
grep "GPU kernels" "$OUT/prof-paper128.txt"
