"""Where a training iteration's time goes: torch.profiler's operator table for a few steps of the real loop.

    python benchmarks/profile_step.py [--preset paper128|shapes64] [--steps 3] [--threads 2] [--rows 15]

Same configurations as benchmarks/speed.py's train128 (paper128 at ch 16, batch 8, 10 classes)
and shapes64 rows; the first two steps are run before profiling (warm-up, step-0 sample grid).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="paper128", choices=("paper128", "shapes64"))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=15)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    spec = importlib.util.spec_from_file_location("speed", Path(__file__).with_name("speed.py"))
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)  # type: ignore[union-attr]
    setup = argparse.Namespace(amp="none", channels_last=False, compile=False, train_ch=16, train_batch=8)
    config, source, data = speed._train_setup(a.preset, setup, 2 + a.steps)

    from deepi2i.training import TranslationTask, fit

    with tempfile.TemporaryDirectory() as run:
        task = TranslationTask(config, source)
        fit(task, data, run, device="cpu", progress=False, stop_at_step=2)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fit(task, data, run, device="cpu", progress=False, stop_at_step=2 + a.steps)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=a.rows))


if __name__ == "__main__":
    main()
