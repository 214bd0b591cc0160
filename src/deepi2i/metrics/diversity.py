"""LPIPS diversity as StarGAN v2 reports it: mean LPIPS over all pairs of the samples that one
input gives for one target class (10 samples: 45 pairs), averaged over inputs, then classes.

The `lpips` package ships its calibrated linear heads but fetches the trunk (AlexNet / VGG-16)
from torchvision's download server; here the trunk comes from a local torchvision state_dict
(the full file or only its `features.*` entries), so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from deepi2i.metrics.weights import StrPath, WeightsSpec, load_state_dict, resolve_weights, sha256_file

LPIPS_TRUNKS: dict[str, WeightsSpec] = {
    "alex": WeightsSpec(
        what="LPIPS AlexNet trunk (torchvision)",
        filename="alexnet-owt-7be5be79.pth",
        url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        env="DEEPI2I_LPIPS_WEIGHTS",
        option="--lpips-weights",
    ),
    "vgg": WeightsSpec(
        what="LPIPS VGG-16 trunk (torchvision)",
        filename="vgg16-397923af.pth",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        env="DEEPI2I_LPIPS_WEIGHTS",
        option="--lpips-weights",
    ),
}


class LPIPSMetric(nn.Module):
    """An `lpips.LPIPS` (v0.1, calibrated heads) whose trunk weights came from a local file."""

    def __init__(self, net: str = "alex", weights: StrPath | None = None) -> None:
        super().__init__()
        if net not in LPIPS_TRUNKS:
            raise ValueError(f"unknown LPIPS network {net!r}; choose one of {', '.join(LPIPS_TRUNKS)}")
        path = resolve_weights(LPIPS_TRUNKS[net], weights)
        import lpips

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # torchvision's 'pretrained' deprecation, inside lpips
            self.lpips = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        self.lpips.net.load_state_dict(_trunk_state(self.lpips.net, load_state_dict(path, f"LPIPS {net}"), path))
        self.lpips.eval().requires_grad_(False)
        heads = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
        self.net = net
        self.info: dict[str, Any] = {
            "net": net,
            "version": "0.1",
            "trunk_file": Path(path).name,
            "trunk_sha256": sha256_file(path),
            "heads_sha256": sha256_file(heads),
        }

    @torch.no_grad()
    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """LPIPS distance [B] between image batches in [-1, 1]."""
        return self.lpips(a, b).flatten()


@torch.no_grad()
def mean_pairwise_lpips(metric: LPIPSMetric | nn.Module, samples: Tensor) -> Tensor:
    """samples [S, B, 3, H, W] in [-1, 1] (S outputs of each of B inputs) -> [B] mean LPIPS over
    the S(S-1)/2 pairs of each input's outputs."""
    s = samples.shape[0]
    if s < 2:
        raise ValueError(f"diversity needs at least 2 samples per input, got {s}")
    pairs = list(itertools.combinations(range(s), 2))
    total = torch.zeros(samples.shape[1], dtype=torch.float64, device=samples.device)
    for i, j in pairs:
        total += metric(samples[i], samples[j]).double()
    return (total / len(pairs)).float()


def _trunk_state(trunk: nn.Module, state: dict[str, Tensor], path: StrPath) -> dict[str, Tensor]:
    """Map torchvision's `features.<i>.<param>` onto lpips' `slice<k>.<i>.<param>` (same <i>)."""
    features = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    out, wrong = {}, []
    for key, like in trunk.state_dict().items():
        inner = key.split(".", 1)[1]
        if inner in features and features[inner].shape == like.shape:
            out[key] = features[inner]
        else:
            wrong.append(f"features.{inner}")
    if wrong:
        raise ValueError(
            f"{path} is not a torchvision state_dict for this LPIPS trunk: missing or misshaped {wrong[:4]}"
        )
    return out
