"""A picture of Shapes translations next to their ground truth, for docs/results/.

    python benchmarks/shapes_figure.py DATA OUT.png MODEL[=LABEL] [MODEL[=LABEL] ...]
        [--inputs 4] [--classes 6] [--seed 0]

For each of `--inputs` test images of DATA (a Shapes target folder): one row with the ideal
translations (the input re-rendered with each target class's shape, same pose and style), then
one row per model with its translations into the same classes (same seed and z for every
model). The first column is the input; the columns are headed by the target classes.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from deepi2i.data import ClassFolderDataset, read_shapes_manifest, render
from deepi2i.translate import Translator
from deepi2i.visualize import labelled_grid, to_uint8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("models", nargs="+", metavar="MODEL[=LABEL]")
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    models = [(m.split("=", 1) + [m])[:2] for m in args.models]
    translators = [(Translator.from_pretrained(path, device="cpu"), label) for path, label in models]
    res = translators[0][0].resolution
    test = ClassFolderDataset(args.data, res, "test", progress=False)
    records = {r["path"]: r for r in read_shapes_manifest(args.data)["images"]}
    step = max(len(test) // args.inputs, 1)
    picks = list(range(0, len(test), step))[: args.inputs]  # spread over the classes
    names = test.class_names
    classes = [round(i * (len(names) - 1) / max(args.classes - 1, 1)) for i in range(args.classes)]

    rows = []
    for i in picks:
        path = test.paths[i].relative_to(test.root).as_posix()
        x = to_uint8(test[i][0])
        ideal = [
            torch.from_numpy(np.array(render(records[path], shape=names[c]).resize((res, res)))).permute(2, 0, 1)
            for c in classes
        ]
        rows.append(torch.stack([x, *ideal]))
        for t, _ in translators:
            out = t([test.paths[i]], to=classes, samples=1, seed=args.seed, return_tensors=True)[
                0, :, 0
            ]  # [T, 3, R, R]
            rows.append(torch.cat([x[None], to_uint8(out)]))
    grid = labelled_grid(torch.stack(rows), [("input", 1)] + [(names[c], 1) for c in classes])
    grid.save(args.out)
    order = ", ".join(["ideal"] + [label for _, label in translators])
    print(f"wrote {args.out}: per input, rows {order}")


if __name__ == "__main__":
    main()
