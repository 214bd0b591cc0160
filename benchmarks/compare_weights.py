"""The same inputs, targets and z translated with two sets of adaptor weights w_l, side by side.

    python benchmarks/compare_weights.py --model shapes --data WORK/trg-eval --weights 4:1 --out compare.png \
        --inputs arrow,pentagon,circle,crescent,star5,triangle --to cross,square,pentagon,triangle

Under each target class: the translation with the export's own w_l (left), then with --weights
applied on top of them (right; `deepi2i translate --adaptor-weights` semantics). One input per
listed input class (the first of its --split), one z per input (seed --seed), so only w_l differs
between the two columns.
"""

from __future__ import annotations

import torch
from pair_confusion import first_per_class, model_and_images_parser

from deepi2i.cli import _level_weights
from deepi2i.data.folder import ClassFolderDataset
from deepi2i.translate import Translator
from deepi2i.visualize import translation_grid


def main() -> None:
    ap = model_and_images_parser(__doc__)
    ap.add_argument("--inputs", required=True, help="comma list of input classes (one image each)")
    ap.add_argument("--to", required=True, help="comma list of target classes")
    ap.add_argument("--weights", required=True, help="the other w_l: one number, or level:weight pairs")
    ap.add_argument("--out", required=True, help="the PNG to write")
    a = ap.parse_args()

    t = Translator.from_pretrained(a.model, device="cpu")
    data = ClassFolderDataset(a.data, t.resolution, a.split)
    picked = first_per_class(data.targets, 1)
    x = torch.stack([data[picked[data.class_names.index(name)][0]][0] for name in a.inputs.split(",")])  # [N, 3, R, R]
    targets = t.resolve(a.to.split(","))
    own = t(x, to=targets, seed=a.seed, return_tensors=True)  # [N, T, 1, 3, R, R]
    t.set_adaptor_weights(_level_weights(a.weights, "--weights"))
    other = t(x, to=targets, seed=a.seed, return_tensors=True)
    translation_grid(x, torch.cat([own, other], 2), [t.class_names[i] for i in targets]).save(a.out)
    print(f"wrote {a.out}: under each target, w_l as exported, then with --weights {a.weights}")


if __name__ == "__main__":
    main()
