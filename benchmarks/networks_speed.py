"""Throughput of our BigGAN networks: G forward + D forward + backward, as BigGAN-PyTorch was measured
(docs/benchmarks.md).

    python benchmarks/networks_speed.py [--repeats 5] [--threads 2]

Prints a markdown table (images/s, median of `repeats` timed steps after one warm-up step).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepi2i.config import DiscriminatorConfig, GeneratorConfig
from deepi2i.networks import Discriminator, Generator

CASES = [  # resolution, ch, attention, batch (the rows of the BigGAN-PyTorch table in docs/benchmarks.md)
    (32, 16, (), 32),
    (32, 32, (), 32),
    (64, 32, (), 32),
]


def step_time(resolution: int, ch: int, attention: tuple[int, ...], batch: int, repeats: int) -> float:
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(resolution=resolution, ch=ch, n_classes=16, attention=attention))
    d = Discriminator(DiscriminatorConfig(resolution=resolution, ch=ch, n_classes=16, attention=attention))
    z = torch.randn(batch, g.config.dim_z_used)
    y = torch.randint(0, 16, (batch,))
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        d(g(z, y), y).mean().backward()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| resolution | ch | attention | batch | s/step | images/s |")
    print("|---|---|---|---|---|---|")
    for res, ch, att, batch in CASES:
        t = step_time(res, ch, att, batch, args.repeats)
        print(f"| {res} | {ch} | {att or 'none'} | {batch} | {t:.3f} | {batch / t:.1f} |", flush=True)


if __name__ == "__main__":
    main()
