"""How tests/data/reference was made from the shared reference files (run once, by hand).

The project's tests must pass in a fresh clone without the reference files, so they carry a copy of what
they need: the BigGAN-PyTorch tiny 128 px G, G_ema and D, the official DeepI2I adaptor file (its
G.pth and D.pth are byte-identical to the BigGAN ones), and the vectors flattened to safetensors.
`D_src_feats` is left out: it equals `encoder_feats` (the encoder is loaded from the same D.pth).

    python tests/data/make_reference_subset.py REFERENCE_DIR tests/data/reference

REFERENCE_DIR holds the BigGAN-PyTorch and official DeepI2I reference weights and outputs (not shipped).
"""

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def flatten(d: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = torch.as_tensor(v).contiguous()
    return out


def main(src: Path, dst: Path) -> None:
    (dst / "biggan").mkdir(parents=True, exist_ok=True)
    (dst / "official").mkdir(parents=True, exist_ok=True)
    for name in ("G.pth", "G_ema.pth", "D.pth"):
        shutil.copy(src / "biggan_pytorch_tiny128" / name, dst / "biggan" / name)
    shutil.copy(src / "deepi2i_official_tiny128" / "A1.pth", dst / "official" / "A1.pth")
    for folder, out in (("biggan_pytorch_tiny128", "biggan"), ("deepi2i_official_tiny128", "official")):
        vectors = torch.load(src / folder / "vectors.pt", map_location="cpu", weights_only=True)
        vectors.pop("D_src_feats", None)
        save_file(flatten(vectors), dst / out / "vectors.safetensors")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
