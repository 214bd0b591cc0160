"""Where a training iteration's time goes: torch.profiler's operator table for a few steps of the real loop.

    python benchmarks/profile_step.py [--preset paper128|shapes64] [--steps 3] [--threads 2] [--rows 15]
                                      [--device cpu|cuda] [--ch 16] [--batch 8] [--amp none|bf16]

Same configurations as benchmarks/speed.py's train128 (paper128 at --ch, --batch, 10 classes) and
shapes64 rows. A 2-step run warms the process up first (allocator, kernel selection); the profiled
run then trains 2 + --steps steps from the start and exports (no checkpoint is kept between). On CUDA
the table is sorted by GPU time and a last line compares the steps' wall time with the GPU's busy
time: far apart means the GPU waits for the CPU (launch overhead, synchronisation), not for arithmetic.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="paper128", choices=("paper128", "shapes64"))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=15)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ch", type=int, default=16, help="paper128 width (96 = the paper's)")
    ap.add_argument("--batch", type=int, default=8, help="paper128 batch")
    ap.add_argument("--amp", default="none", choices=("none", "bf16", "fp16"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    spec = importlib.util.spec_from_file_location("speed", Path(__file__).with_name("speed.py"))
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)  # type: ignore[union-attr]
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        from deepi2i.device import use_tf32

        use_tf32(device)
    setup = argparse.Namespace(amp=a.amp, channels_last=False, compile=False, train_ch=a.ch, train_batch=a.batch)
    config, source, data = speed._train_setup(a.preset, setup, 2 + a.steps)

    from deepi2i.training import TranslationTask, fit

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with tempfile.TemporaryDirectory() as run:
        task = TranslationTask(config, source)
        fit(task, data, run, device=device, progress=False, stop_at_step=2)
        with profile(activities=activities) as prof:
            t = time.perf_counter()
            fit(task, data, run, device=device, progress=False, stop_at_step=2 + a.steps)
            if cuda:
                torch.cuda.synchronize()
            wall = time.perf_counter() - t
    events = prof.key_averages()
    print(events.table(sort_by="self_device_time_total" if cuda else "self_cpu_time_total", row_limit=a.rows))
    if cuda:
        kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
        busy = sum(e.device_time_total for e in kernels) / 1e6  # seconds of GPU kernels, summed
        saving = sum(e.device_time_total for e in kernels if e.name.startswith("Memcpy DtoH")) / 1e6
        print(
            f"{2 + a.steps} steps and the export: wall {wall:.3f} s (with profiler overhead), GPU kernels {busy:.3f} s "
            f"= {busy / wall:.0%} of the wall time; of them {saving:.3f} s device-to-host copies (mostly the "
            "export and final checkpoint, not the steps)"
        )


if __name__ == "__main__":
    main()
