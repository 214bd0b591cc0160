"""Does a trained DeepI2I discriminator still know the classes on images it has not seen?

    python benchmarks/discriminator_classes.py --model MODEL --data WORK/trg --split train
    python benchmarks/discriminator_classes.py --model MODEL --data WORK/trg-val --split test
    python benchmarks/discriminator_classes.py --model shapes-source --data WORK/trg-val --split test

The projection discriminator's class for an image is argmax_y D(x, y). On the images it trained on
against unseen images of the same classes, this says whether D has learnt the classes or memorised
its training set: only what D can tell apart can it teach the generator (class identity of the
translations, RC). Also reported: D's class for the model's own translations of those images into
every other class (one z, seed --seed), as the share D takes for the target and for the input's class.
MODEL may also be a BigGAN transfer source: then the images' classes are matched to the source's by name,
D chooses among all of the source's classes, and there are no translations.
"""

from __future__ import annotations

import torch
from pair_confusion import first_per_class, model_and_images_parser

from deepi2i.checkpoint import load_export
from deepi2i.data.folder import ClassFolderDataset
from deepi2i.networks.biggan import BigGAN, Discriminator
from deepi2i.networks.deepi2i import DeepI2I
from deepi2i.translate import Translator
from deepi2i.visualize import to_uint8


@torch.no_grad()
def discriminator_class(discriminator: Discriminator, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """x [N, 3, R, R] in [-1, 1] -> argmax_y D(x, y) [N] over the discriminator's classes."""
    return torch.cat([discriminator(xc, None).argmax(1) for xc in x.split(chunk)])  # [n, C] -> [n] per chunk


def main() -> None:
    a = model_and_images_parser(__doc__).parse_args()

    model = load_export(a.model).eval()  # a path or a shipped name
    if not isinstance(model, DeepI2I | BigGAN):
        raise SystemExit(f"{a.model} holds neither a DeepI2I model nor a BigGAN source")
    names = model.class_names
    data = ClassFolderDataset(a.data, model.config.generator.resolution, a.split)
    unknown = sorted(set(data.class_names) - set(names))
    if unknown:
        raise SystemExit(f"the model does not know the classes {', '.join(unknown)} of {a.data}")
    picked = first_per_class(data.targets, a.per_class)
    order = [i for label in sorted(picked) for i in picked[label]]
    x = torch.stack([data[i][0] for i in order])  # [N, 3, R, R] in [-1, 1]
    own = torch.tensor([names.index(data.class_names[data.targets[i]]) for i in order])  # [N]

    pred = discriminator_class(model.discriminator, x)
    print(
        f"{a.model}: D's class on {a.data} ({a.split}, {len(order)} images): {(pred == own).float().mean() * 100:.1f}%"
    )
    for c in own.unique().tolist():
        counts = torch.bincount(pred[own == c], minlength=len(names))
        wrong = ", ".join(
            f"{names[k]} {int(counts[k])}" for k in counts.argsort(descending=True).tolist() if counts[k] and k != c
        )
        print(f"  {names[c]:<9} {counts[c] / counts.sum() * 100:5.1f}%" + (f"   (taken for {wrong})" if wrong else ""))

    if isinstance(model, BigGAN):  # a transfer source translates nothing
        return
    translator = Translator(model, device="cpu")
    targets = list(range(len(names)))
    with torch.no_grad():
        fake = translator.translate_tensor(to_uint8(x), targets, 1, seed=a.seed)[:, :, 0]  # [N, T, 3, R, R] in [-1, 1]
        fake_pred = discriminator_class(model.discriminator, fake.flatten(0, 1)).view(len(order), len(targets))
    target = torch.tensor(targets)[None]  # [1, T]
    other = own[:, None] != target  # the pairs that ask for a change of class
    print(
        f"its translations into the other classes: D takes {(fake_pred == target)[other].float().mean() * 100:.1f}% "
        f"for the target, {(fake_pred == own[:, None])[other].float().mean() * 100:.1f}% for the input's class"
    )


if __name__ == "__main__":
    main()
