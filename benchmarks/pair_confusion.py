"""Class identity per (input class, target class) pair: where do a Shapes translator's misses come from?

    python benchmarks/pair_confusion.py --model shapes --data WORK/trg-val [--per-class 20] [--split test]

Each cell is the share of translations classified as the target, and after the slash the share
classified as the input's own class (the input's shape surviving the translation). The classifier
is the shipped Shapes classifier unless --classifier names another (deepi2i.metrics.classifier's
folder format). One z per translation (seed --seed), no truncation.
"""

from __future__ import annotations

import argparse

import torch

from deepi2i.data.folder import ClassFolderDataset
from deepi2i.metrics.classifier import load_classifier
from deepi2i.translate import Translator
from deepi2i.visualize import to_uint8


def model_and_images_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options these diagnostics share: a model, a class folder and which of its images."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("--model", default="shapes", help="export folder or shipped name (default shapes)")
    ap.add_argument("--data", required=True, help="a class folder of the model's classes (split on first use)")
    ap.add_argument("--split", default="test", choices=("train", "test", "all"))
    ap.add_argument("--per-class", type=int, default=20, help="images per class (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the translations' z (default 0)")
    return ap


def first_per_class(targets: list[int], n: int) -> dict[int, list[int]]:
    """Label -> the indices of its first `n` images, in dataset order (the same inputs every run)."""
    picked: dict[int, list[int]] = {}
    for i, label in enumerate(targets):
        if len(picked.setdefault(label, [])) < n:
            picked[label].append(i)
    return picked


def main() -> None:
    ap = model_and_images_parser(__doc__)
    ap.add_argument("--classifier", help="classifier folder (default: the shipped Shapes classifier)")
    a = ap.parse_args()

    translator = Translator.from_pretrained(a.model, device="cpu")
    names = translator.class_names
    data = ClassFolderDataset(a.data, translator.resolution, a.split)
    classifier, clf_names = load_classifier(a.classifier)
    missing = sorted({*names, *data.class_names} - set(clf_names))
    if missing:
        raise SystemExit(f"the classifier does not know {', '.join(missing)}: pass --classifier for this data")

    picked = first_per_class(data.targets, a.per_class)
    order = [i for label in sorted(picked) for i in picked[label]]
    inputs = torch.stack([to_uint8(data[i][0]) for i in order])  # [N, 3, R, R] uint8
    own = torch.tensor([clf_names.index(data.class_names[data.targets[i]]) for i in order])  # [N]
    target = torch.tensor([clf_names.index(n) for n in names])  # [T]
    with torch.no_grad():
        out = to_uint8(translator.translate_tensor(inputs, list(range(len(names))), 1, seed=a.seed)[:, :, 0])
        pred = classifier(out.flatten(0, 1)).argmax(1).view(out.shape[:2])  # [N, T]
    hit, kept = pred == target[None, :], pred == own[:, None]  # [N, T] each
    other = own[:, None] != target[None, :]  # the pairs that ask for a change of class

    print(f"{a.model} on {a.data} ({a.split}, {a.per_class} inputs per class, seed {a.seed})")
    print("rows: input class; columns: target; % classified as the target / % as the input's own class")
    print(" " * 10 + " ".join(f"{n[:8]:>8}" for n in names))
    for label in sorted(picked):
        rows = torch.tensor([data.targets[i] == label for i in order])
        cells = [
            f"{hit[rows, t].float().mean() * 100:4.0f}/{kept[rows, t].float().mean() * 100:<3.0f}"
            if names[t] != data.class_names[label]
            else f"{'-':>8}"
            for t in range(len(names))
        ]
        print(f"{data.class_names[label][:9]:<10}" + " ".join(cells))
    misses = other & ~hit
    print(
        f"classified as the target: {hit[other].float().mean() * 100:.1f}% of {int(other.sum())} translations; "
        f"of the {int(misses.sum())} misses, {int((misses & kept).sum())} look like the input's own class"
    )


if __name__ == "__main__":
    main()
