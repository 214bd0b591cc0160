"""Translate user images into chosen classes: the Python API behind `deepi2i translate`.

One code path serves both the API (`Translator.__call__`) and the command line
(`translate_files`), so the same inputs, targets and seed give identical pixels either way:

- images are read with `deepi2i.data.images`, the preprocessing used for training (RGB, shorter
  side resized to the model resolution, centre crop, [-1, 1]);
- each output's z is drawn on the CPU from its own generator seeded by (seed, input index, sample
  index), so z does not depend on the batch size, the device, or which other targets are asked
  for: sample k of input i uses the same z for every target class (like the paper's Fig. 5);
- the same seed, batch size and device give bit-identical pixels. Another batch size or device
  runs other matrix kernels, whose float rounding (~1e-6) can move a rare pixel by one level.
"""

from __future__ import annotations

import csv
import difflib
import glob
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from deepi2i._io import StrPath, atomic_write, atomic_write_bytes, check_output_folder
from deepi2i.data.images import load_image_uint8, resize_center_crop, to_model_range, to_rgb
from deepi2i.data.manifest import walk_tree
from deepi2i.device import resolve_device
from deepi2i.networks import DeepI2I
from deepi2i.networks.biggan import BigGAN
from deepi2i.networks.deepi2i import (  # the z rule lives beside sample_z; translate re-exports it
    check_truncation,
    generate,
    latent,
    z_for_outputs,
)
from deepi2i.networks.deepi2i import latents as latents  # re-exported: the public API has it here
from deepi2i.visualize import (
    interpolation_labels,
    interpolation_strip,
    labelled_grid,
    save_gif,
    to_pil,
    to_uint8,
    translation_grid,
    tsne_embed,
    tsne_plot,
)

ImageLike = StrPath | Image.Image | Tensor
ClassSpec = str | int | Sequence[str | int]

# Extensions picked up when an input is a folder; a file named explicitly is read whatever its name.
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .apng .bmp .dib .gif .webp .tif .tiff .ppm .pgm .pbm .pnm .tga .qoi .avif".split()
)
_GLOB_CHARS = re.compile(r"[*?[]")


# ---- class names ------------------------------------------------------------------------------


def _class_error_hint(n_classes: int, model_path: StrPath | None) -> str:
    where = f"--model {model_path}" if model_path is not None else "--model EXPORT"
    return f"list all {n_classes} classes with `deepi2i classes {where}`"


def _resolve_token(token: str | int, class_names: Sequence[str], model_path: StrPath | None) -> list[int]:
    n = len(class_names)
    if isinstance(token, bool):
        raise ValueError(f"target class {token!r} is neither a class name nor an index")
    if isinstance(token, int):
        if not 0 <= token < n:
            raise ValueError(f"class index {token} is out of range: the model has {n} classes (0..{n - 1})")
        return [token]
    text = token.strip()
    if not text:
        raise ValueError("empty target class name")
    if text.lower() == "all":
        return list(range(n))
    if text in class_names:  # exact spelling wins, so 'Cat' and 'cat' can both be classes
        return [list(class_names).index(text)]
    folded = [i for i, name in enumerate(class_names) if name.lower() == text.lower()]
    if len(folded) == 1:
        return folded
    if len(folded) > 1:
        options = ", ".join(repr(class_names[i]) for i in folded)
        raise ValueError(f"class name {text!r} is ambiguous without case: {options}; spell it exactly")
    if re.fullmatch(r"[+-]?\d+", text):
        return _resolve_token(int(text), class_names, model_path)
    lowered = {name.lower(): name for name in class_names}
    close = difflib.get_close_matches(text.lower(), list(lowered), n=5, cutoff=0.6)
    suggestion = f"closest matches: {', '.join(repr(lowered[c]) for c in close)}; " if close else ""
    raise ValueError(f"unknown class {text!r}; {suggestion}{_class_error_hint(n, model_path)}")


def resolve_classes(
    names_or_indices: ClassSpec, class_names: Sequence[str], *, model_path: StrPath | None = None
) -> list[int]:
    """Turn user targets ('all', names, indices, or 'cat,3,Dog') into class indices, in order, once each.

    Names match exactly, then case-insensitively; a digit string that is not a name is an index.
    Anything unknown is an error listing the closest names, never silently dropped: a typo in a
    149-class list would otherwise quietly shrink the output. `model_path` only improves the hint.
    """
    items: list[str | int] = []
    for item in [names_or_indices] if isinstance(names_or_indices, (str, int)) else list(names_or_indices):
        items.extend(item.split(",") if isinstance(item, str) else [item])
    indices: list[int] = []
    for item in items:
        indices.extend(_resolve_token(item, class_names, model_path))
    if not indices:
        raise ValueError("no target classes given (use names, indices or 'all')")
    return list(dict.fromkeys(indices))


def safe_name(text: str) -> str:
    """A class name or file stem made safe for a file name (spaces, slashes etc. become '_')."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._")


def class_file_names(class_names: Sequence[str]) -> list[str]:
    """File-name form of every class, unique even when two names sanitise alike (index appended)."""
    names = [safe_name(n) or str(i) for i, n in enumerate(class_names)]
    counts: dict[str, int] = {}
    for n in names:
        counts[n.lower()] = counts.get(n.lower(), 0) + 1
    return [f"{n}-{i}" if counts[n.lower()] > 1 else n for i, n in enumerate(names)]


def unique_stems(paths: Sequence[Path]) -> list[str]:
    """File stems for naming outputs; repeated stems (a/cat.jpg, b/cat.png) get -2, -3, ... in input order."""
    taken: set[str] = set()
    stems: list[str] = []
    for path in paths:
        base = safe_name(path.stem) or "image"
        stem, k = base, 1
        while stem.lower() in taken:
            k += 1
            stem = f"{base}-{k}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


# ---- inputs -----------------------------------------------------------------------------------


def _images_in(folder: Path) -> list[Path]:
    """Image files under `folder` (links followed, each folder once; hidden, broken and odd entries left out)."""
    st = folder.stat()
    return [
        folder / rel
        for rel, _, problem in walk_tree(folder, "", {(st.st_dev, st.st_ino)})
        if problem is None and not rel.endswith("/") and Path(rel).suffix.lower() in IMAGE_EXTENSIONS
    ]


def expand_inputs(specs: Sequence[StrPath]) -> list[Path]:
    """Files, folders (searched recursively for images) and glob patterns -> a list of image files.

    An input that matches nothing is an error rather than skipped, so a mistyped path never yields
    a silently smaller run. A file reached twice is used once.
    """
    if not specs:
        raise ValueError("no input images given")
    paths: list[Path] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_file():
            paths.append(path)
        elif path.is_dir():
            found = _images_in(path)
            if not found:
                raise FileNotFoundError(f"{spec}: folder has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
            paths.extend(found)
        elif _GLOB_CHARS.search(str(spec)):
            matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(str(spec)), recursive=True))]
            found = [p for m in matches for p in ([m] if m.is_file() else _images_in(m))]
            if not found:
                raise FileNotFoundError(f"{spec}: no image files match this pattern")
            paths.extend(found)
        else:
            raise FileNotFoundError(f"{spec}: no such file or folder")
    unique: dict[Path, Path] = {}
    for p in paths:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def preprocess_uint8(image: ImageLike, resolution: int) -> Tensor:
    """One path / PIL image / tensor -> uint8 [3, R, R], exactly as training preprocesses files.

    Tensors: uint8 [3, H, W] in [0, 255], or float [3, H, W] in [-1, 1] (the model's range).
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image_uint8(image, resolution)
    if isinstance(image, Image.Image):
        return resize_center_crop(to_rgb(ImageOps.exif_transpose(image)), resolution)
    if isinstance(image, Tensor):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"image tensors must be [3, H, W], got shape {list(image.shape)}")
        if image.dtype == torch.uint8:
            return resize_center_crop(image.cpu(), resolution)
        if not image.is_floating_point():
            raise ValueError(f"image tensors must be uint8 or float, got {image.dtype}")
        lo, hi = float(image.min()), float(image.max())
        if lo < -1.001 or hi > 1.001:
            raise ValueError(f"float image tensors must be in [-1, 1] (the model's range), got [{lo:.3g}, {hi:.3g}]")
        as_uint8 = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return resize_center_crop(as_uint8, resolution)
    raise TypeError(f"cannot use {type(image).__name__} as an image: pass a path, a PIL image or a tensor")


# ---- devices --------------------------------------------------------------------------------


def _check_sampling(samples: int, truncation: float | None) -> None:
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    check_truncation(truncation)


# ---- the translator ---------------------------------------------------------------------------


class Translator:
    """A DeepI2I model on a device, ready to translate images by class name or index.

    >>> t = Translator.from_pretrained("export/")
    >>> grid = t(["me.jpg"], to=["samoyed", 3], samples=2, seed=0)  # [input][target][sample] PIL
    """

    def __init__(self, model: DeepI2I, device: str | torch.device | None = None, batch_size: int = 32) -> None:
        """Moves `model` to `device` (default: cuda when available) and puts it in eval mode."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(
        cls, directory: StrPath, device: str | torch.device | None = None, batch_size: int = 32
    ) -> Translator:
        """Load an export folder (config.json + *.safetensors) written by `save_pretrained`."""
        dev = resolve_device(device)
        return cls(DeepI2I.from_pretrained(directory, map_location=dev), dev, batch_size)

    @property
    def class_names(self) -> list[str]:
        return self.model.class_names

    @property
    def resolution(self) -> int:
        return self.model.config.resolution

    def set_adaptor_weights(self, weights: float | Mapping[int, float]) -> None:
        """Translate with other adaptor weights w_l (Eq. 5) than the export's: one number for every level,
        or {level: w} for some levels (the others keep theirs). The networks are unchanged; w_l is read
        at every forward, so this is a translation-time knob like truncation."""
        self.model.config = self.model.config.with_adaptor_weights(weights)

    def resolve(self, to: ClassSpec, model_path: StrPath | None = None) -> list[int]:
        return resolve_classes(to, self.class_names, model_path=model_path)

    def _one_class(self, spec: str | int, what: str) -> int:
        indices = self.resolve(spec)
        if len(indices) != 1:
            raise ValueError(f"the {what} of an interpolation must be one class, got {spec!r} ({len(indices)} classes)")
        return indices[0]

    def preprocess(self, images: ImageLike | Sequence[ImageLike]) -> Tensor:
        """Paths / PIL images / tensors -> float [N, 3, R, R] in [-1, 1] (a [N, 3, H, W] tensor is N images).

        Paths go through the training loader itself (JPEGs may decode at reduced scale there), so
        for pixels identical to `deepi2i translate` pass paths rather than opened PIL images.
        """
        if isinstance(images, (str, os.PathLike, Image.Image)):
            images = [images]
        elif isinstance(images, Tensor) and images.dim() == 3:
            images = [images]
        items = list(images)
        if not items:
            raise ValueError("no input images given")
        return to_model_range(torch.stack([preprocess_uint8(im, self.resolution) for im in items]))

    def iter_translations(
        self,
        x: Tensor,
        targets: Sequence[int],
        samples: int = 1,
        seed: int = 0,
        truncation: float | None = None,
    ) -> Iterator[tuple[list[tuple[int, int, int]], Tensor]]:
        """Yield (jobs, images) batch by batch: jobs are (input, target position, sample) in that
        nested order, images [len(jobs), 3, R, R] in [-1, 1] on the CPU.

        x is [N, 3, R, R], uint8 or float in [-1, 1]. The jobs of all inputs are cut into batches of
        `batch_size` the same way whatever the caller, so the API, `translate_files` and `tsne_files`
        run identical forward passes and give bit-identical pixels. The encoder and adaptors run
        once per input, not once per output: one input into all of a model's classes costs one
        encoder pass and the generator passes.
        """
        _check_sampling(samples, truncation)
        if not targets:
            raise ValueError("no target classes given")
        n, t = x.shape[0], len(targets)
        dim = self.model.config.generator.dim_z_used
        total = n * t * samples
        skips: dict[int, dict[int, Tensor]] = {}  # input index -> its w_l * adaptor features (one input each)
        for start in range(0, total, self.batch_size):
            jobs = [
                (q // (t * samples), q // samples % t, q % samples)
                for q in range(start, min(total, start + self.batch_size))
            ]
            inputs = sorted({i for i, _, _ in jobs})
            for i in [i for i in skips if i < inputs[0]]:  # jobs are input-major: earlier inputs are done
                del skips[i]
            new = [i for i in inputs if i not in skips]
            if new:
                src = x[torch.tensor(new)]
                src = to_model_range(src) if src.dtype == torch.uint8 else src.float()
                with torch.inference_mode():
                    features = self.model.skips(src.to(self.device))  # {r: [len(new), C, r, r]}
                for k, i in enumerate(new):
                    skips[i] = {r: f[k : k + 1] for r, f in features.items()}
            y = torch.tensor([targets[j] for _, j, _ in jobs], dtype=torch.long, device=self.device)
            z = z_for_outputs(dim, seed, [(i, k) for i, _, k in jobs], truncation).to(self.device)
            batch_skips = {r: torch.cat([skips[i][r] for i, _, _ in jobs]) for r in skips[inputs[0]]}
            with torch.inference_mode():
                out = self.model.generator(z, y, skips=batch_skips).float().cpu()  # [len(jobs), 3, R, R]
            if not bool(torch.isfinite(out).all()):
                raise ValueError(
                    "the model produced NaN or infinite pixels (they would be saved as black images); "
                    "its export or the input images are damaged"
                )
            yield jobs, out

    def translate_tensor(
        self,
        x: Tensor,
        targets: Sequence[int],
        samples: int = 1,
        seed: int = 0,
        truncation: float | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Tensor:
        """x [N, 3, R, R] -> translations [N, T, S, 3, R, R] in [-1, 1] on the CPU (see `iter_translations`)."""
        out = torch.empty(x.shape[0], len(targets), samples, 3, x.shape[-2], x.shape[-1])
        for jobs, images in self.iter_translations(x, targets, samples, seed, truncation):
            for (i, j, k), img in zip(jobs, images, strict=True):
                out[i, j, k] = img
            if progress is not None:
                progress(len(jobs))
        return out

    def __call__(
        self,
        images: ImageLike | Sequence[ImageLike],
        to: ClassSpec = "all",
        samples: int = 1,
        seed: int | None = None,
        truncation: float | None = None,
        return_tensors: bool = False,
    ) -> list[list[list[Image.Image]]] | Tensor:
        """Translate images into classes `to`, `samples` diverse outputs each (different z).

        Returns PIL images nested [input][target][sample], or with `return_tensors` one tensor
        [N, T, S, 3, R, R] in [-1, 1]. `seed=None` draws a fresh seed from torch's global RNG.
        """
        targets = self.resolve(to)
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()))
        out = self.translate_tensor(self.preprocess(images), targets, samples, seed, truncation)
        if return_tensors:
            return out
        return [[[to_pil(img) for img in per_target] for per_target in per_input] for per_input in out]

    def interpolate(
        self,
        image: ImageLike,
        start: str | int,
        end: str | int,
        steps: int = 8,
        seed: int = 0,
        truncation: float | None = None,
    ) -> Tensor:
        """Fixed input and z, class embedding lerped from `start` to `end` (paper App. D): [steps, 3, R, R].

        z is the one `translate_tensor` gives sample 0 of a single input with the same seed, so the
        end frames equal plain translations into `start` and `end`.
        """
        if steps < 2:
            raise ValueError(f"steps must be >= 2 (the two end classes included), got {steps}")
        _check_sampling(1, truncation)
        a, b = self._one_class(start, "start"), self._one_class(end, "end")
        x = self.preprocess(image)[:1].to(self.device)
        z = latent(self.model.config.generator.dim_z_used, seed, 0, 0, truncation).to(self.device)
        with torch.no_grad():
            ends = self.model.generator.shared(torch.tensor([a, b], device=self.device))
            weights = torch.linspace(0, 1, steps, device=self.device)[:, None]
            embed = torch.lerp(ends[0].expand(steps, -1), ends[1].expand(steps, -1), weights)
            frames = []
            for s in range(0, steps, self.batch_size):
                e = embed[s : s + self.batch_size]
                m = e.shape[0]
                frames.append(self.model(x.expand(m, -1, -1, -1), None, z.expand(m, -1), embed=e).float().cpu())
        return torch.cat(frames)


# ---- the batch job behind `deepi2i translate` -------------------------------------------------


@dataclass(frozen=True)
class TranslateResult:
    """What a batch job wrote: every output file (in input, target, sample order) and the grid."""

    files: list[Path]
    grid: Path | None
    index: Path


def output_name(stem: str, class_file_name: str, sample: int, samples: int) -> str:
    """`<input-stem>__to_<class>__s<k>.png`, k zero-padded so files sort in sample order."""
    width = len(str(samples - 1))
    return f"{stem}__to_{class_file_name}__s{sample:0{width}d}.png"


def _save_png(image: Image.Image, path: Path) -> None:
    """Atomically: a symlink planted at `path` is replaced, never written through."""
    buf = io.BytesIO()
    image.save(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def _check_out_dir(out: Path, inputs: Sequence[StrPath]) -> Path:
    """--out must be a folder outside every input folder: outputs written inside one would be read
    back as inputs by the next run (3 inputs -> 12 files -> 40 ...)."""
    check_output_folder(out)
    target = out.resolve()
    for spec in inputs:
        folder = Path(spec).expanduser()
        if folder.is_dir() and (target == folder.resolve() or folder.resolve() in target.parents):
            raise ValueError(f"--out {out} is inside the input folder {spec}; choose an output folder outside it")
    return out


def translate_files(
    translator: Translator,
    inputs: Sequence[StrPath],
    to: ClassSpec,
    out_dir: StrPath,
    samples: int = 1,
    seed: int = 0,
    truncation: float | None = None,
    grid: bool = False,
    model_path: StrPath | None = None,
    progress: bool = True,
) -> TranslateResult:
    """Translate image files/folders/globs and write one PNG per (input, target, sample) into out_dir.

    Every input is decoded before anything is written, so an unreadable file fails the run up
    front with its name. Also writes translations.csv (which file is which) and, with `grid`,
    grid.png (inputs in the first column, then their translations, labelled by class).
    """
    targets = translator.resolve(to, model_path=model_path)
    _check_sampling(samples, truncation)
    out = _check_out_dir(Path(out_dir), inputs)
    paths = expand_inputs(inputs)
    res = translator.resolution
    pixels = [load_image_uint8(p, res) for p in tqdm(paths, desc="reading", unit="img", disable=len(paths) < 64)]
    stems = unique_stems(paths)
    class_files = class_file_names(translator.class_names)
    out.mkdir(parents=True, exist_ok=True)

    total = len(paths) * len(targets) * samples
    files: list[Path] = []
    rows: list[list[str]] = []
    x = torch.stack(pixels)
    grid_outputs = torch.empty(len(paths), len(targets), samples, *x.shape[1:], dtype=torch.uint8) if grid else None
    with tqdm(total=total, desc="translating", unit="img", disable=not progress or total < 32) as bar:
        for jobs, images in translator.iter_translations(x, targets, samples, seed, truncation):
            for (i, j, k), img in zip(jobs, to_uint8(images), strict=True):
                c = targets[j]
                path = out / output_name(stems[i], class_files[c], k, samples)
                _save_png(TF.to_pil_image(img), path)
                files.append(path)
                rows.append([str(paths[i]), str(c), translator.class_names[c], str(k), path.name])
                if grid_outputs is not None:
                    grid_outputs[i, j, k] = img
            bar.update(len(jobs))

    index = out / "translations.csv"
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["input", "target_index", "target_name", "sample", "file"])
    writer.writerows(rows)
    atomic_write_bytes(index, table.getvalue().encode("utf-8"))
    grid_path = None
    if grid_outputs is not None:
        grid_path = out / "grid.png"
        names = [translator.class_names[c] for c in targets]
        _save_png(translation_grid(x, grid_outputs, names), grid_path)
    return TranslateResult(files=files, grid=grid_path, index=index)


def interpolate_file(
    translator: Translator,
    image: ImageLike,
    start: str | int,
    end: str | int,
    out: StrPath,
    steps: int = 8,
    seed: int = 0,
    truncation: float | None = None,
    gif: bool = False,
    gif_ms: int = 120,
) -> tuple[Path, Path | None]:
    """Write the interpolation strip of one image (a file, PIL image or tensor) as PNG, and an
    animated GIF beside it."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png file, got {out}")
    frames = translator.interpolate(image, start, end, steps, seed, truncation)
    x = translator.preprocess(image)[0]
    names = [translator.class_names[translator._one_class(c, w)] for c, w in ((start, "start"), (end, "end"))]
    strip = interpolation_strip(x, frames, interpolation_labels(names[0], names[1], steps))
    atomic_write(out, lambda f: strip.save(f, format="PNG"))  # never half-written, never through a symlink
    gif_path = save_gif(frames, out.with_suffix(".gif"), gif_ms) if gif else None
    return out, gif_path


@torch.no_grad()
def source_samples(
    source: BigGAN, classes: Sequence[int], rows: int = 8, seed: int = 0, truncation: float | None = None
) -> Tensor:
    """uint8 [rows, len(classes), 3, R, R]: row r is G(z_r, c) for each class c, with z_r the z that
    sample 0 of input r gets everywhere else (`z_for_outputs`), so a row compares classes at one z."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    outputs = [(r, 0) for r in range(rows)]
    columns = [to_uint8(generate(source.generator, c, outputs, seed, truncation)).cpu() for c in classes]
    return torch.stack(columns, dim=1)  # [rows, K, 3, R, R]


def sample_file(
    model: StrPath,
    out: StrPath,
    classes: ClassSpec = "all",
    rows: int = 8,
    seed: int = 0,
    truncation: float | None = None,
    device: str | None = None,
) -> Path:
    """Write a labelled grid of a BigGAN export's samples (one column per class, one z per row): the
    picture that says whether a transfer source draws its classes before DeepI2I is trained from it."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png file, got {out}")
    check_truncation(truncation)
    source = BigGAN.from_pretrained(model, map_location=resolve_device(device))
    chosen = resolve_classes(classes, source.class_names, model_path=model)
    cells = source_samples(source, chosen, rows, seed, truncation)
    grid = labelled_grid(cells, [(source.class_names[c], 1) for c in chosen])
    atomic_write(out, lambda f: grid.save(f, format="PNG"))
    return out


def tsne_files(
    translator: Translator,
    inputs: Sequence[StrPath],
    to: ClassSpec,
    out: StrPath,
    samples: int = 1,
    seed: int = 0,
    truncation: float | None = None,
    perplexity: float | None = None,
    pca_dim: int = 50,
    size_px: int = 1200,
    thumb_frac: float = 0.06,
    model_path: StrPath | None = None,
    progress: bool = True,
) -> Path:
    """Appendix H: translate every input into `to`, embed the outputs (PCA + t-SNE), and plot the
    input|output pairs at their 2-D positions (Fig. 19; several classes give Fig. 20)."""
    targets = translator.resolve(to, model_path=model_path)
    _check_sampling(samples, truncation)
    paths = expand_inputs(inputs)
    pixels = torch.stack([load_image_uint8(p, translator.resolution) for p in paths])
    total = len(paths) * len(targets) * samples
    with tqdm(total=total, desc="translating", unit="img", disable=not progress or total < 32) as bar:
        fake = translator.translate_tensor(pixels, targets, samples, seed, truncation, bar.update)
    outputs = to_uint8(fake).flatten(0, 2)
    sources = pixels[:, None, None].expand(-1, len(targets), samples, -1, -1, -1).flatten(0, 2)
    points = tsne_embed(outputs, perplexity, pca_dim, seed)
    names = ", ".join(translator.class_names[c] for c in targets[:3]) + (", ..." if len(targets) > 3 else "")
    title = f"t-SNE of {len(outputs)} translations into {names}"
    return tsne_plot(points, torch.cat([sources, outputs], dim=-1), out, size_px, thumb_frac, title)
