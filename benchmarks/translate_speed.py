"""One input into every class at paper size: the Translator vs the per-output loop, side by side.

    python benchmarks/translate_speed.py [--classes 149] [--ch 96] [--batch 8,32] [--rounds 2] [--threads 2]

Both run in this process, interleaved round by round, on a random-weight paper-size model
(128 px, ch 96, attention at 64; weights do not change the cost):
- `per-output`: encoder -> adaptors -> generator for every output, in batches (what the official
  test loop and deepi2i's Translator before 2026-12-02 did);
- `Translator`: encoder and adaptors once per input, the generator in batches of `--batch`.
Prints seconds per input and the ratio; nothing is compared across machines.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepi2i.config import paper128
from deepi2i.networks import DeepI2I
from deepi2i.translate import Translator, latent


def per_output(model: DeepI2I, x: torch.Tensor, n_classes: int, batch: int) -> None:
    dim = model.config.generator.dim_z_used
    with torch.inference_mode():
        for start in range(0, n_classes, batch):
            y = torch.arange(start, min(n_classes, start + batch))
            z = torch.stack([latent(dim, 0, 0, 0)] * len(y))
            model.translate(x.expand(len(y), -1, -1, -1), y, z)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classes", type=int, default=149)
    ap.add_argument("--ch", type=int, default=96)
    ap.add_argument("--batch", default="8,32")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = paper128(args.classes)
    if args.ch != 96:
        import dataclasses

        m = config
        g, d = dataclasses.replace(m.generator, ch=args.ch), dataclasses.replace(m.discriminator, ch=args.ch)
        config = dataclasses.replace(m, generator=g, discriminator=d, encoder=d)
    model = DeepI2I(config).eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for b in (int(v) for v in args.batch.split(",")):
            for name, fn in (
                (f"per-output, batch {b}", lambda b=b: per_output(model, x, args.classes, b)),
                (
                    f"Translator, batch {b}",
                    lambda b=b: Translator(model, "cpu", b).translate_tensor(x, list(range(args.classes))),
                ),
            ):
                t = time.perf_counter()
                fn()
                times.setdefault(name, []).append(time.perf_counter() - t)
                print(f"{name}: {times[name][-1]:.1f} s", flush=True)
    print(
        f"\none 128 px input into {args.classes} classes, ch {args.ch}, {args.threads} threads, "
        f"median of {args.rounds}:"
    )
    for name, ts in times.items():
        print(f"  {name:<24} {statistics.median(ts):6.1f} s")


if __name__ == "__main__":
    main()
