"""Does pushing the class embedding away from the mean add class identity? A translation-time diagnostic.

    python benchmarks/class_guidance.py S evaluate --model shapes --data WORK/trg-val --out OUT ...

Runs `deepi2i evaluate` (or any deepi2i command given after S) with the generator's class embedding
replaced by mean + S * (embedding - mean), the mean taken over the generator's classes: S = 1 is the model
as it is, S > 1 exaggerates what tells the classes apart (the idea behind classifier-free guidance, applied
to BigGAN's shared embedding). Nothing in the package changes; the patch lives only in this process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

from torch import Tensor

from deepi2i.cli import main
from deepi2i.networks import biggan

_forward = biggan.Generator.forward


def guided(scale: float) -> Callable[..., Tensor]:
    """Generator.forward with class indices y turned into the scaled embedding (an `embed` passed in is kept)."""

    def forward(
        self: biggan.Generator,
        z: Tensor,
        y: Tensor | None = None,
        *,
        embed: Tensor | None = None,
        skips: Mapping[int, Tensor] | None = None,
    ) -> Tensor:
        if embed is None and y is not None:
            mean = self.shared.weight.mean(0, keepdim=True)  # [1, shared_dim]
            embed, y = mean + scale * (self.shared(y) - mean), None  # [B, shared_dim]
        return _forward(self, z, y, embed=embed, skips=skips)

    return forward


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    biggan.Generator.forward = guided(float(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
