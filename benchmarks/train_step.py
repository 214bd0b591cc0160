"""Seconds per DeepI2I training iteration through the real loop (`deepi2i.training.fit`).

    python benchmarks/train_step.py [--resolution 128] [--ch 16] [--batch 8] [--classes 10]
                                    [--steps 7] [--threads 2] [--phase 2] [--device cpu]

The default is the configuration the official code was timed at (docs/benchmarks.md: 5.3 s per
phase-2 iteration at 128 px, ch 16, batch 8, 10 classes, attention at 64, on 2 CPU cores): one
discriminator step plus one generator/adaptor step with the reconstruction loss. The networks
start from a random BigGAN source of the same architecture (weights do not change the cost) and
the data is random images. Prints the median of the per-step times after skipping the first two
(warm-up and the step-0 sample grid).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from deepi2i.config import BigGANConfig
from deepi2i.networks.biggan import BigGAN
from deepi2i.training import TranslationTask, fit
from deepi2i.training.config import PhaseConfig, train_preset


def step_flops(config, source: BigGAN, data: TensorDataset, device: str) -> int:
    """FLOPs of one step: a 2-step run minus a 1-step run (both draw the same step-0 sample grid)."""
    from torch.utils.flop_counter import FlopCounterMode

    counts = []
    for steps in (1, 2):
        with tempfile.TemporaryDirectory() as run, FlopCounterMode(display=False) as counter:
            fit(TranslationTask(config, source), data, run, device=device, progress=False, stop_at_step=steps)
        counts.append(counter.get_total_flops())
    return counts[1] - counts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=128, choices=(128,))
    parser.add_argument("--ch", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=7, help="timed steps + 2 skipped")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phase", type=int, default=2, choices=(1, 2))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="none", choices=("none", "bf16", "fp16"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--flops", action="store_true", help="also count FLOPs of one step (torch.utils.flop_counter)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = train_preset("paper128", "translate", n_classes=args.classes)
    m = config.model
    g, d = dataclasses.replace(m.generator, ch=args.ch), dataclasses.replace(m.discriminator, ch=args.ch)
    trains = ("adaptors", "discriminator") if args.phase == 1 else ("generator", "adaptors", "discriminator")
    config = dataclasses.replace(
        config,
        model=dataclasses.replace(m, generator=g, discriminator=d, encoder=d),
        phases=(PhaseConfig(f"phase{args.phase}", args.steps * args.batch / 1000, trains),),
        batch_size=args.batch,
        accumulation=1,
        log_every=1,
        sample_every=10**9,
        checkpoint_every=10**9,
        n_sample_inputs=2,
        n_sample_classes=2,
        amp=args.amp,
        channels_last=args.channels_last,
    )
    torch.manual_seed(0)
    source = BigGAN(BigGANConfig(generator=g, discriminator=d)).eval()
    task = TranslationTask(config, source)
    n = max(4 * args.batch, 2)
    data = TensorDataset(torch.rand(n, 3, args.resolution, args.resolution) * 2 - 1, torch.arange(n) % args.classes)
    with tempfile.TemporaryDirectory() as run:
        fit(task, data, run, device=args.device, progress=False, stop_at_step=args.steps)
        records = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines()]
    times = [r["sec_per_step"] for r in records][2:]
    med = statistics.median(times)
    print(
        f"| {args.resolution} | {args.ch} | {args.batch} | {args.classes} | phase {args.phase} | {args.device} "
        f"| {args.threads} | {args.amp} | {med:.2f} s | {args.batch / med:.2f} img/s | {len(times)} |"
    )
    if args.flops:
        print(f"GFLOP per step: {step_flops(config, source, data, args.device) / 1e9:.1f}")


if __name__ == "__main__":
    main()
