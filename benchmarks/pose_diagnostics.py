"""Why does a DeepI2I model keep (or lose) the input's pose? Per-level measurements of one export.

    python benchmarks/pose_diagnostics.py MODEL DATA [--inputs 64] [--seed 0] [--json out.json]

MODEL is a DeepI2I export (or a shipped name such as `shapes`), DATA a class folder whose test
split gives the inputs. For each pyramid level l it prints:

- `|Φ_l|`, `|w·Λ_l|`: RMS of the generator's own activation at that level and of the addition
  w_l · Λ_l(Υ_l(x)) it receives (Eq. 5). A ratio far below 1 means the generator barely sees
  the input at that level.
- `rec_l`: the level's weighted reconstruction term α_l · |Ψ_l(x) − Ψ_l(ŷ)| (Eq. 3).
- `grad rec / grad adv`: the norms of the gradients of λ_rec·L_rec and λ_adv·L_adv with respect
  to that level's adaptor output: which term steers the adaptor.
- `|ΔΨ| own / other`: the mean |Ψ_l(x) − Ψ_l(ŷ)| (Eq. 3 before α_l) for translations into the input's
  own class and into another class (same z): how much the level's reconstruction term charges a
  translation for changing the class.

and two whole-model numbers: `input dependence`, the mean pixel change between translations of
two different inputs with the same z and class, divided by the change between two z for the same
input (near 0: the output ignores the input, a class-conditional GAN in disguise); and the same
ratio for the class (two classes, same input and z).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from deepi2i import losses
from deepi2i.data.folder import ClassFolderDataset
from deepi2i.networks.deepi2i import DeepI2I, sample_z
from deepi2i.pretrained import resolve_model
from deepi2i.training.config import TrainConfig, transfer_phases


def rms(t: torch.Tensor) -> float:
    return float(t.detach().float().pow(2).mean().sqrt())


def generator_activations(
    model: DeepI2I, z: torch.Tensor, y: torch.Tensor, skips: dict[int, torch.Tensor]
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """The translation and Φ_l: each level's activation just before w_l·Λ_l is added."""
    g = model.generator
    acts: dict[int, torch.Tensor] = {}
    hooks = [g.linear.register_forward_hook(lambda m, i, o: acts.__setitem__(4, o.view(o.shape[0], -1, 4, 4)))]
    for stage, res in zip(g.blocks, g.config.block_resolutions, strict=True):
        hooks.append(stage[-1].register_forward_hook(lambda m, i, o, r=res: acts.__setitem__(r, o)))
    try:
        out = g(z, y, skips=skips)
    finally:
        for h in hooks:
            h.remove()
    return out, acts


def diagnose(model: DeepI2I, x: torch.Tensor, y_src: torch.Tensor, seed: int = 0, lambda_rec: float = 1.0) -> dict:
    """Per-level magnitudes, reconstruction terms and gradient balance on the inputs `x`."""
    c = model.config
    n = x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    z = sample_z(n, c.generator.dim_z_used, generator=gen)
    y = (y_src + 1 + torch.randint(c.n_classes - 1, (n,), generator=gen)) % c.n_classes  # another class
    levels = c.pyramid_levels
    alphas = TrainConfig(model=c, phases=transfer_phases(0.0, 0.0)).reconstruction_weights()  # the paper's α_l

    # magnitudes and the gradient of each term w.r.t. each level's adaptor output
    with torch.no_grad():
        adapted = model.adaptors(model.encoder(x))
    adapted = {r: a.detach().requires_grad_(True) for r, a in adapted.items()}
    skips = {r: c.weight(r) * a for r, a in adapted.items()}
    x_fake, acts = generator_activations(model, z, y, skips)
    with torch.no_grad():
        _, feats_src = model.discriminator.features(x, y_src, levels, c.relu_last_tap)
    logits, feats_fake = model.discriminator.features(x_fake, y, levels, c.relu_last_tap)
    adv = losses.g_loss(logits, "hinge")
    per_level = {r: alphas[r] * (feats_fake[r] - feats_src[r]).abs().mean() for r in levels}
    rec = lambda_rec * sum(per_level.values())
    g_adv = torch.autograd.grad(adv, list(adapted.values()), retain_graph=True)
    g_rec = torch.autograd.grad(rec, list(adapted.values()))
    rows = {}
    for (r, a), ga, gr in zip(adapted.items(), g_adv, g_rec, strict=True):
        rows[r] = {
            "phi_rms": rms(acts[r]),
            "skip_rms": rms(c.weight(r) * a),
            "skip_over_phi": rms(c.weight(r) * a) / max(rms(acts[r]), 1e-12),
            "rec_term": float(per_level[r].detach()),
            "grad_rec_over_adv": float(gr.norm()) / max(float(ga.norm()), 1e-12),
        }

    # what the reconstruction term charges for a class change: |ΔΨ_l| into the input's own class vs another
    with torch.no_grad():
        for target, key in ((y_src, "feat_change_own"), (y, "feat_change_other")):
            _, feats = model.discriminator.features(model(x, target, z), target, levels, c.relu_last_tap)
            for r in levels:
                rows[r][key] = float((feats[r] - feats_src[r]).abs().mean())

    # how much the output moves with the input, z and class
    with torch.no_grad():
        base = model(x, y, z)
        other_x = model(x.roll(1, 0), y, z)  # same z and class, another input
        other_z = model(x, y, sample_z(n, c.generator.dim_z_used, generator=gen))
        other_y = model(x, (y + 1) % c.n_classes, z)
    dz = float((base - other_z).abs().mean())
    return {
        "levels": {str(r): v for r, v in rows.items()},
        "adv": float(adv.detach()),
        "rec": float(rec.detach()),
        "input_change": float((base - other_x).abs().mean()),
        "z_change": dz,
        "class_change": float((base - other_y).abs().mean()),
        "input_dependence": float((base - other_x).abs().mean()) / max(dz, 1e-12),
        "class_dependence": float((base - other_y).abs().mean()) / max(dz, 1e-12),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lambda-rec", type=float, default=1.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    model = DeepI2I.from_pretrained(resolve_model(args.model))
    data = ClassFolderDataset(args.data, resolution=model.config.resolution, split="test")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[: args.inputs]
    x = torch.stack([data[int(i)][0] for i in idx])
    y = torch.tensor([int(data[int(i)][1]) for i in idx])
    out = diagnose(model, x, y, args.seed, args.lambda_rec)
    print(
        f"{'level':>6} {'|Φ_l|':>8} {'|w·Λ_l|':>9} {'ratio':>7} {'rec_l':>8} {'grad rec/adv':>13} "
        f"{'|ΔΨ| own / other':>17}"
    )
    for r, v in out["levels"].items():
        print(
            f"{r:>6} {v['phi_rms']:8.3f} {v['skip_rms']:9.3f} {v['skip_over_phi']:7.3f} {v['rec_term']:8.4f} "
            f"{v['grad_rec_over_adv']:13.3f} {v['feat_change_own']:8.3f} / {v['feat_change_other']:.3f}"
        )
    print(f"L_adv {out['adv']:.3f}  λ_rec·L_rec {out['rec']:.4f}")
    print(
        f"input dependence {out['input_dependence']:.3f}  class dependence {out['class_dependence']:.3f} "
        "(pixel change from another input / another class, relative to another z)"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
