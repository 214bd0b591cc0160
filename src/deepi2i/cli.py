"""The `deepi2i` command: thin subcommands that parse arguments and call one library function.

Each area registers its subcommands in one `_add_*_commands(sub)` function below; the library
does the work, so everything here is also reachable from Python. Flag defaults are read from the
library (`default_of`: a config's field or a function's parameter), so each lives in one place.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class CLIError(Exception):
    """A user error: printed as one clear message, exit status 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose flags may be added on first use (`defer`).

    Many flag defaults come from library modules that import torch and torchvision (`default_of`);
    a command adds its flags only when it parses or prints its help, so `deepi2i classes` or
    `deepi2i --help` do not pay for every other command's imports. Subparsers are `_Parser`s too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred: list[Callable[[argparse.ArgumentParser], None]] = []

    def defer(self, add_flags: Callable[[argparse.ArgumentParser], None]) -> None:
        self._deferred.append(add_flags)

    def _add_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._add_deferred()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_deferred()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_deferred()
        return super().format_help()


def default_of(owner: Any, name: str) -> Any:
    """The default of a dataclass field or of a function's parameter: the one place a flag's default lives."""
    if dataclasses.is_dataclass(owner):
        found = {f.name: f for f in dataclasses.fields(owner)}[name]
        if found.default_factory is not dataclasses.MISSING:
            return found.default_factory()
        default = found.default
    else:
        default = inspect.signature(owner).parameters[name].default
    if default in (dataclasses.MISSING, inspect.Parameter.empty):
        raise TypeError(f"{getattr(owner, '__qualname__', owner)}.{name} has no default")
    return default


@contextlib.contextmanager
def _warnings_reported(command: str) -> Iterator[None]:
    """Library warnings (files skipped, ...) as `deepi2i COMMAND: warning: ...` lines once the work is done."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        print(f"deepi2i {command}: warning: {w.message}", file=sys.stderr)


def _add_model_commands(sub: argparse._SubParsersAction) -> None:
    from deepi2i.config import GeneratorConfig

    p = sub.add_parser(
        "import-biggan",
        help="convert a BigGAN-PyTorch checkpoint folder (G.pth/G_ema.pth, D.pth) into a deepi2i export",
    )
    p.add_argument("src", help="folder with BigGAN-PyTorch's G_ema.pth (or G.pth) and D.pth")
    p.add_argument("out", help="folder to write config.json + *.safetensors into")
    p.add_argument(
        "--generator-file",
        choices=["auto", "G_ema.pth", "G.pth"],
        default="auto",
        help="which generator to take (auto: G_ema.pth when present, else G.pth)",
    )
    sn_eps, bn_eps = default_of(GeneratorConfig, "sn_eps"), default_of(GeneratorConfig, "bn_eps")
    p.add_argument("--sn-eps", type=float, default=None, help=f"override the spectral-norm eps (default {sn_eps})")
    p.add_argument("--bn-eps", type=float, default=None, help=f"override the batch-norm eps (default {bn_eps})")
    p.add_argument("--overwrite", action="store_true", help="replace a different export already in OUT")
    p.set_defaults(func=_cmd_import_biggan)


def _cmd_import_biggan(args: argparse.Namespace) -> None:
    from deepi2i.convert import import_biggan

    overrides = {k: v for k, v in {"sn_eps": args.sn_eps, "bn_eps": args.bn_eps}.items() if v is not None}
    generator_file = None if args.generator_file == "auto" else args.generator_file
    out = import_biggan(args.src, args.out, generator_file=generator_file, overwrite=args.overwrite, **overrides)
    print(f"wrote {out}")


def _add_demo_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="translate fresh Shapes images with the shipped model into every class: a grid and pose/class scores",
    )
    p.defer(_demo_flags)
    p.set_defaults(func=_cmd_demo)


def _demo_flags(p: argparse.ArgumentParser) -> None:
    """demo's flags, their defaults run_demo's and train_demo_model's."""
    from deepi2i.demo import run_demo, train_demo_model

    p.add_argument("--out", default="demo", metavar="DIR", help="folder for grid.png and summary.json (default ./demo)")
    p.add_argument(
        "--model",
        default=default_of(run_demo, "model"),
        metavar="EXPORT",
        help="a Shapes export or shipped name (default %(default)s)",
    )
    p.add_argument(
        "--inputs",
        type=int,
        default=default_of(run_demo, "grid_inputs"),
        help="inputs shown in the grid (default %(default)s)",
    )
    p.add_argument(
        "--eval-inputs",
        type=int,
        default=default_of(run_demo, "eval_inputs"),
        help="inputs the scores are computed on (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=default_of(run_demo, "seed"), help="seed of z (default %(default)s)")
    p.add_argument(
        "--train",
        action="store_true",
        help="first train DeepI2I from the shipped source BigGAN on freshly rendered target data (OUT/run), "
        "then demo it",
    )
    p.add_argument(
        "--kimg",
        type=float,
        default=default_of(train_demo_model, "kimg"),
        help="with --train: training length in thousands of images (default %(default)s)",
    )
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _cmd_demo(args: argparse.Namespace) -> None:
    from deepi2i.demo import run_demo, train_demo_model

    if args.inputs < 1 or args.eval_inputs < 1:
        raise CLIError("--inputs and --eval-inputs must be at least 1")
    model = args.model
    if args.train:
        if args.kimg <= 0:
            raise CLIError(f"--kimg must be > 0, got {args.kimg}")
        model = train_demo_model(args.out, kimg=args.kimg, seed=args.seed, progress=not args.quiet)
    summary = run_demo(args.out, model, args.inputs, args.eval_inputs, args.seed, args.device, progress=not args.quiet)
    print("\n".join(summary.lines()))
    print(f"wrote {args.out}/grid.png and {args.out}/summary.json ({summary.seconds:.0f} s)")


def _add_evaluation_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="the paper's Table-1 metrics (RC, FC, mKID, mFID) plus LPIPS and Shapes pose, as report.json/.md",
    )
    p.defer(_evaluate_flags)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("evaluate-compare", help="put several evaluation reports side by side (Table-1 layout)")
    p.add_argument("reports", nargs="+", metavar="REPORT.json", help="report.json files (or their folders)")
    p.add_argument("--out", required=True, metavar="TABLE.md", help="markdown file to write")
    p.add_argument("--labels", nargs="+", help="row names, one per report (default: each report's name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file with other content")
    p.set_defaults(func=_cmd_evaluate_compare)


def _evaluate_flags(p: argparse.ArgumentParser) -> None:
    """evaluate's flags, their defaults EvalConfig's and ClassifierConfig's."""
    from deepi2i.metrics import BACKBONES, ClassifierConfig, EvalConfig

    def ev(name: str) -> Any:
        return default_of(EvalConfig, name)

    def clf(name: str) -> Any:
        return default_of(ClassifierConfig, name)

    p.add_argument(
        "--model",
        required=True,
        metavar="EXPORT",
        help="a DeepI2I export folder or shipped name; a BigGAN export (a transfer source) is scored on its samples",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="the class folder the model was trained on (its test split is the input)",
    )
    p.add_argument("--out", required=True, metavar="REPORT_DIR", help="folder for report.json and report.md")
    p.add_argument(
        "--per-class",
        type=int,
        default=ev("per_class"),
        help="translations per target class (default %(default)s, the paper's)",
    )
    p.add_argument(
        "--metrics",
        default="all",
        help="comma list of fid,kid,rc,fc,lpips,pose (default all; pose only on Shapes data)",
    )
    p.add_argument(
        "--extractor",
        default=ev("extractor"),
        help="FID/KID features: inception (the literature's) or classifier (the RC classifier)",
    )
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="torch-fidelity's weights-inception-2015-12-05-6726825d.pth (or $DEEPI2I_INCEPTION_WEIGHTS)",
    )
    p.add_argument(
        "--real-split",
        choices=["train", "test"],
        default=ev("real_split"),
        help="real images FID/KID compare against (default %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=ev("seed"),
        help="seed of z, LPIPS input choice, KID subsets and classifiers (default %(default)s)",
    )
    p.add_argument(
        "--truncation",
        type=float,
        default=ev("truncation"),
        help="sample z from a normal truncated to [-T, T]",
    )
    p.add_argument(
        "--include-same-class",
        action="store_true",
        help="also translate inputs of class c into c (default: other classes only)",
    )
    p.add_argument(
        "--classifier",
        choices=BACKBONES,
        default=clf("backbone"),
        help="RC/FC backbone (default %(default)s; paper: resnet50)",
    )
    p.add_argument(
        "--classifier-weights",
        metavar="FILE",
        help="initial backbone weights: a local torchvision state_dict (default random)",
    )
    p.add_argument(
        "--classifier-input-size",
        type=int,
        help="resize images to this side for the classifier (default: model resolution)",
    )
    p.add_argument(
        "--classifier-epochs",
        type=int,
        default=clf("epochs"),
        help="epochs of RC and FC training (default %(default)s)",
    )
    p.add_argument("--classifier-lr", type=float, default=clf("lr"), help="AdamW learning rate (default %(default)s)")
    p.add_argument(
        "--classifier-batch-size",
        type=int,
        default=clf("batch_size"),
        help="classifier batch size (default %(default)s)",
    )
    p.add_argument(
        "--fc-per-class",
        type=int,
        default=ev("fc_per_class"),
        help="translations per class FC trains on (default %(default)s)",
    )
    p.add_argument("--kid-subsets", type=int, default=ev("kid_subsets"), help="KID subsets (default %(default)s)")
    p.add_argument(
        "--kid-subset-size",
        type=int,
        default=ev("kid_subset_size"),
        help="KID subset size, capped by the set sizes (default %(default)s)",
    )
    p.add_argument(
        "--lpips-net",
        choices=["alex", "vgg"],
        default=ev("lpips_net"),
        help="LPIPS trunk (default %(default)s, as StarGAN v2)",
    )
    p.add_argument(
        "--lpips-weights",
        metavar="FILE",
        help="torchvision alexnet-owt-7be5be79.pth / vgg16-397923af.pth (or $DEEPI2I_LPIPS_WEIGHTS)",
    )
    p.add_argument(
        "--lpips-inputs",
        type=int,
        default=ev("lpips_inputs"),
        help="inputs per target class for LPIPS (default %(default)s)",
    )
    p.add_argument(
        "--lpips-samples",
        type=int,
        default=ev("lpips_samples"),
        help="samples per input for LPIPS (default %(default)s)",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="classifiers and real features (default $DEEPI2I_CACHE_DIR or ~/.cache/deepi2i/eval)",
    )
    p.add_argument("--name", help="the model's name in the tables (default: the export folder's name)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a report of another evaluation already in REPORT_DIR",
    )
    p.add_argument(
        "--baseline",
        choices=["copy", "ideal"],
        help="score a reference instead of the model's translations: the input copied unchanged, or (Shapes) "
        "the ideal re-rendered translation; --model still fixes the classes and resolution",
    )
    p.add_argument("--adaptor-weights", metavar="W", help="translate (DeepI2I exports) " + _ADAPTOR_WEIGHTS_HELP)
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=ev("batch_size"),
        help="images per forward pass (default %(default)s)",
    )
    p.add_argument("--workers", type=int, default=ev("workers"), help="data-loading processes (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or time estimate")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from deepi2i.metrics import ClassifierConfig, EvalConfig, evaluate, markdown_report

    if args.extractor not in ("inception", "classifier"):
        from deepi2i.metrics import available_extractors

        if args.extractor not in available_extractors():
            raise CLIError(f"unknown --extractor {args.extractor!r}; available: {', '.join(available_extractors())}")
    classifier = ClassifierConfig(
        backbone=args.classifier,
        init_weights=args.classifier_weights,
        input_size=args.classifier_input_size,
        epochs=args.classifier_epochs,
        batch_size=args.classifier_batch_size,
        lr=args.classifier_lr,
        seed=args.seed,
    )
    config = EvalConfig(
        per_class=args.per_class,
        metrics=None if args.metrics.strip().lower() == "all" else tuple(args.metrics.split(",")),
        extractor=args.extractor,
        inception_weights=args.inception_weights,
        real_split=args.real_split,
        seed=args.seed,
        truncation=args.truncation,
        include_same_class=args.include_same_class,
        batch_size=args.batch_size,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        classifier=classifier,
        fc_per_class=args.fc_per_class,
        lpips_net=args.lpips_net,
        lpips_weights=args.lpips_weights,
        lpips_inputs=args.lpips_inputs,
        lpips_samples=args.lpips_samples,
        cache_dir=args.cache_dir,
        device=args.device,
        workers=args.workers,
        name=args.name or (f"baseline: {args.baseline}" if args.baseline else None),
        baseline=args.baseline,
        adaptor_weights=_level_weights(args.adaptor_weights, "--adaptor-weights"),
    )
    report = evaluate(args.model, args.data, args.out, config, progress=not args.quiet, overwrite=args.overwrite)
    print(markdown_report(report).split("\n## ")[0].rstrip())
    print(f"wrote {args.out}/report.json and {args.out}/report.md")


def _cmd_evaluate_compare(args: argparse.Namespace) -> None:
    from deepi2i.metrics import write_comparison

    out = write_comparison(args.reports, args.out, args.labels, overwrite=args.overwrite)
    print(out.read_text(encoding="utf-8").split("\n## ")[0].rstrip())
    print(f"wrote {out}")


def _add_translate_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help="translate images (files, folders, globs) into chosen classes")
    p.defer(_translate_flags)
    p.set_defaults(func=_cmd_translate)

    p = sub.add_parser("classes", help="list a model's classes (index and name)")
    p.add_argument(
        "--model", required=True, metavar="EXPORT", help="a deepi2i (or BigGAN) export folder or shipped name"
    )
    p.set_defaults(func=_cmd_classes)

    p = sub.add_parser("sample", help="a grid of a BigGAN export's samples: does the transfer source draw its classes?")
    p.defer(_sample_flags)
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("interpolate", help="interpolate the class embedding from A to B for one input (App. D)")
    p.defer(_interpolate_flags)
    p.set_defaults(func=_cmd_interpolate)

    p = sub.add_parser("tsne", help="t-SNE map of many inputs translated into one class (App. H)")
    p.defer(_tsne_flags)
    p.set_defaults(func=_cmd_tsne)

    p = sub.add_parser("plot-curves", help="plot metrics against kimg from JSONL run logs (Fig. 2b)")
    p.defer(_plot_curves_flags)
    p.set_defaults(func=_cmd_plot_curves)


_TARGETS_HELP = "target classes: 'all', or names/indices, comma-separated or repeated (names ignore case)"


_ADAPTOR_WEIGHTS_HELP = (
    "with these w_l (Eq. 5) instead of the export's: one number for every level, or "
    "level:weight pairs for some, e.g. 4:1.3,8:1 (the other levels keep the export's)"
)


def _model_options(p: argparse.ArgumentParser, command: Any) -> None:
    """The flags of the commands that run a model; `command` holds the seed's default."""
    from deepi2i.translate import Translator

    p.add_argument(
        "--model",
        required=True,
        metavar="EXPORT",
        help="a deepi2i export folder (config.json + weights) or shipped name",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=default_of(command, "seed"),
        help="seed of the z draws; same seed, same pixels (default %(default)s)",
    )
    p.add_argument("--truncation", type=float, default=None, help="sample z from a normal truncated to [-T, T]")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=default_of(Translator.from_pretrained, "batch_size"),
        help="images per forward pass (default %(default)s)",
    )
    p.add_argument("--adaptor-weights", metavar="W", help="translate " + _ADAPTOR_WEIGHTS_HELP)


def _translator(args: argparse.Namespace) -> Any:
    """The Translator of a command's --model, --device, --batch-size and --adaptor-weights."""
    from deepi2i.translate import Translator

    translator = Translator.from_pretrained(args.model, device=args.device, batch_size=args.batch_size)
    weights = _level_weights(args.adaptor_weights, "--adaptor-weights")
    if weights is not None:
        try:
            translator.set_adaptor_weights(weights)
        except ValueError as err:
            raise CLIError(f"--adaptor-weights {args.adaptor_weights!r}: {err}") from None
    return translator


def _translate_flags(p: argparse.ArgumentParser) -> None:
    """translate's flags, their defaults translate_files'."""
    from deepi2i.translate import translate_files

    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (searched recursively) or globs")
    p.add_argument("--to", action="append", required=True, metavar="CLASSES", help=_TARGETS_HELP)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for <input>__to_<class>__s<k>.png files")
    p.add_argument(
        "--samples",
        type=int,
        default=default_of(translate_files, "samples"),
        help="diverse outputs per input and class (default %(default)s)",
    )
    p.add_argument("--grid", action="store_true", help="also write DIR/grid.png: inputs, then their translations")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_options(p, translate_files)


def _sample_flags(p: argparse.ArgumentParser) -> None:
    """sample's flags, their defaults sample_file's."""
    from deepi2i.translate import sample_file

    p.add_argument("--model", required=True, metavar="EXPORT", help="a BigGAN export folder or shipped name")
    p.add_argument(
        "--classes", action="append", metavar="CLASSES", help=_TARGETS_HELP.replace("target ", "") + " (default all)"
    )
    p.add_argument("--rows", type=int, default=default_of(sample_file, "rows"), help="z vectors (default %(default)s)")
    p.add_argument("--out", default="samples.png", metavar="FILE.png", help="grid to write (default samples.png)")
    p.add_argument("--seed", type=int, default=default_of(sample_file, "seed"), help="seed of the z draws")
    p.add_argument("--truncation", type=float, default=None, help="sample z from a normal truncated to [-T, T]")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")


def _cmd_sample(args: argparse.Namespace) -> None:
    from deepi2i.translate import sample_file

    out = sample_file(args.model, args.out, args.classes or "all", args.rows, args.seed, args.truncation, args.device)
    print(f"wrote {out}")


def _interpolate_flags(p: argparse.ArgumentParser) -> None:
    """interpolate's flags, their defaults interpolate_file's."""
    from deepi2i.translate import interpolate_file

    p.add_argument("input", metavar="INPUT", help="one image file")
    p.add_argument("--from", dest="start", required=True, metavar="A", help="start class (name or index)")
    p.add_argument("--to", dest="end", required=True, metavar="B", help="end class (name or index)")
    p.add_argument(
        "--steps",
        type=int,
        default=default_of(interpolate_file, "steps"),
        help="frames including both ends (default %(default)s)",
    )
    p.add_argument("--out", default=None, metavar="FILE.png", help="strip image (default <input>__<A>_to_<B>.png)")
    p.add_argument("--gif", action="store_true", help="also write an animated GIF next to the PNG")
    p.add_argument(
        "--gif-ms",
        type=int,
        default=default_of(interpolate_file, "gif_ms"),
        help="milliseconds per GIF frame (default %(default)s)",
    )
    _model_options(p, interpolate_file)


def _tsne_flags(p: argparse.ArgumentParser) -> None:
    """tsne's flags, their defaults tsne_files'."""
    from deepi2i.translate import tsne_files

    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or globs")
    p.add_argument("--to", action="append", required=True, metavar="CLASSES", help=_TARGETS_HELP)
    p.add_argument("--out", default="tsne.png", metavar="FILE.png", help="plot to write (default tsne.png)")
    p.add_argument(
        "--samples",
        type=int,
        default=default_of(tsne_files, "samples"),
        help="outputs per input and class (default %(default)s)",
    )
    p.add_argument("--perplexity", type=float, default=None, help="t-SNE perplexity (default min(30, (n-1)/3))")
    p.add_argument(
        "--pca-dim",
        type=int,
        default=default_of(tsne_files, "pca_dim"),
        help="PCA components before t-SNE (default %(default)s)",
    )
    p.add_argument(
        "--size",
        type=int,
        default=default_of(tsne_files, "size_px"),
        help="plot side in pixels (default %(default)s)",
    )
    p.add_argument(
        "--thumb",
        type=float,
        default=default_of(tsne_files, "thumb_frac"),
        help="thumbnail height as a fraction of the side (default %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_options(p, tsne_files)


def _plot_curves_flags(p: argparse.ArgumentParser) -> None:
    """plot-curves' flags, their defaults plot_curves'."""
    from deepi2i.visualize import plot_curves

    p.add_argument("logs", nargs="+", metavar="RUN_LOG.jsonl", help="one or more JSONL logs (one line per log)")
    p.add_argument("--keys", nargs="+", required=True, help="metrics to plot, one panel each (e.g. mFID)")
    p.add_argument("--out", default="curves.png", metavar="FILE.png", help="plot to write (default curves.png)")
    p.add_argument("--labels", nargs="+", default=None, help="legend names, one per log (default: run folders)")
    p.add_argument(
        "--smooth",
        type=float,
        default=default_of(plot_curves, "smooth"),
        help="EMA smoothing weight in [0, 1) (default %(default)s)",
    )
    p.add_argument(
        "--size",
        default="x".join(map(str, default_of(plot_curves, "size_px"))),
        metavar="WxH",
        help="image size in pixels (default %(default)s)",
    )


def _cmd_translate(args: argparse.Namespace) -> None:
    from deepi2i.translate import translate_files

    result = translate_files(
        _translator(args),
        args.inputs,
        args.to,
        args.out,
        samples=args.samples,
        seed=args.seed,
        truncation=args.truncation,
        grid=args.grid,
        model_path=args.model,
        progress=not args.quiet,
    )
    print(f"wrote {len(result.files)} images to {args.out} (index: {result.index.name})")
    if result.grid is not None:
        print(f"wrote {result.grid}")


def _cmd_classes(args: argparse.Namespace) -> None:
    from deepi2i.checkpoint import read_export_config

    _, config = read_export_config(args.model)
    names = config.class_names or [str(i) for i in range(config.generator.n_classes)]
    width = len(str(len(names) - 1))
    for i, name in enumerate(names):
        print(f"{i:>{width}}  {name}")


def _cmd_interpolate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from deepi2i.translate import interpolate_file, safe_name

    out = (
        args.out
        or f"{safe_name(Path(args.input).stem)}__{safe_name(str(args.start))}_to_{safe_name(str(args.end))}.png"
    )
    translator = _translator(args)
    png, gif = interpolate_file(
        translator,
        args.input,
        args.start,
        args.end,
        out,
        args.steps,
        args.seed,
        args.truncation,
        args.gif,
        args.gif_ms,
    )
    print(f"wrote {png}" + (f" and {gif}" if gif else ""))


def _cmd_tsne(args: argparse.Namespace) -> None:
    from deepi2i.translate import tsne_files

    out = tsne_files(
        _translator(args),
        args.inputs,
        args.to,
        args.out,
        samples=args.samples,
        seed=args.seed,
        truncation=args.truncation,
        perplexity=args.perplexity,
        pca_dim=args.pca_dim,
        size_px=args.size,
        thumb_frac=args.thumb,
        model_path=args.model,
        progress=not args.quiet,
    )
    print(f"wrote {out}")


def _cmd_plot_curves(args: argparse.Namespace) -> None:
    import re

    from deepi2i.visualize import plot_curves

    size = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", args.size)
    if size is None:
        raise CLIError(f"--size must look like 800x500, got {args.size!r}")
    keys = [k.strip() for item in args.keys for k in item.split(",") if k.strip()]
    out = plot_curves(args.logs, keys, args.out, args.labels, args.smooth, (int(size[1]), int(size[2])))
    print(f"wrote {out}")


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shapes", help="render the synthetic Shapes benchmark (source or target domain)")
    p.defer(_shapes_flags)
    p.set_defaults(func=_cmd_shapes)

    p = sub.add_parser("split", help="check a class folder and create (or verify) its train/test split manifest")
    p.defer(_split_flags)
    p.set_defaults(func=_cmd_split)

    prepare = sub.add_parser("prepare", help="turn a dataset you already downloaded into class folders + split")
    prepare.defer(_prepare_flags)


def _split_options(p: argparse.ArgumentParser, command: Any, workers_help: str) -> None:
    """--seed, --test-fraction (None: the library's) and --workers (`command`'s default)."""
    from deepi2i.data.manifest import DEFAULT_SEED, DEFAULT_TEST_FRACTION

    # None: an existing manifest's split, else these defaults
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"seed of the per-class train/test split (default {DEFAULT_SEED})",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        help=f"share of each class held out (default {DEFAULT_TEST_FRACTION})",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=default_of(command, "workers"),
        help=f"{workers_help} (default %(default)s)",
    )


def _shapes_flags(p: argparse.ArgumentParser) -> None:
    """shapes' flags, their defaults make_shapes'."""
    from deepi2i.data import DOMAINS, make_shapes

    p.add_argument("out", help="new folder for OUT/<class>/*.png, deepi2i_shapes.json and the split manifest")
    p.add_argument(
        "--domain",
        choices=list(DOMAINS),
        default=default_of(make_shapes, "domain"),
        help="style family (default %(default)s)",
    )
    p.add_argument(
        "--per-class",
        type=int,
        default=None,
        help=f"images per class (default: {', '.join(f'{d.name} {d.per_class}' for d in DOMAINS.values())})",
    )
    p.add_argument(
        "--resolution",
        type=int,
        default=default_of(make_shapes, "resolution"),
        help="image side in pixels (default %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=default_of(make_shapes, "seed"),
        help="seed for images and split (default %(default)s)",
    )
    p.add_argument("--classes", default=None, help="a number N (first N classes) or comma-separated shape names")
    p.add_argument(
        "--test-fraction",
        type=float,
        default=default_of(make_shapes, "test_fraction"),
        help="share of each class held out (default %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=default_of(make_shapes, "workers"),
        help="rendering processes (default %(default)s; output is identical)",
    )


def _split_flags(p: argparse.ArgumentParser) -> None:
    """split's flags, their defaults load_or_create_manifest's."""
    from deepi2i.data import load_or_create_manifest

    p.add_argument("root", help="folder laid out as ROOT/<class>/<images>")
    _split_options(p, load_or_create_manifest, "threads for decoding")
    p.add_argument("--resplit", action="store_true", help="replace an existing manifest with a new split")
    p.add_argument("--manifest", default=None, help="manifest path (default ROOT/deepi2i_manifest.json)")


def _prepare_flags(prepare: argparse.ArgumentParser) -> None:
    """prepare's datasets and their flags, their defaults the preparers'."""
    from deepi2i.data import prepare_animalfaces, prepare_cat2dog, prepare_nabirds, prepare_uecfood256

    kinds = prepare.add_subparsers(dest="dataset", metavar="DATASET")
    kinds.required = True
    p = kinds.add_parser("animalfaces", help="FUNIT Animal Faces: crops from the ImageNet train set (149 classes)")
    p.add_argument("imagenet_train", help="ILSVRC2012 train folder (holding n02085620/ ...)")
    p.add_argument("out", help="new output folder")
    p.add_argument("--coordinates", required=True, help="FUNIT's animalface_coordinates.txt")
    _split_options(p, prepare_animalfaces, "threads for cropping")
    p.set_defaults(func=_cmd_prepare)
    p = kinds.add_parser("nabirds", help="NABirds: 555 classes, bounding-box crops")
    p.add_argument("root", help="extracted NABirds folder (images/, images.txt, ...)")
    p.add_argument("out", help="new output folder")
    p.add_argument("--no-crop", dest="crop", action="store_false", help="keep whole images instead of bbox crops")
    p.add_argument("--official-split", action="store_true", help="use train_test_split.txt instead of a seeded split")
    _split_options(p, prepare_nabirds, "threads for cropping")
    p.set_defaults(func=_cmd_prepare)
    p = kinds.add_parser("uecfood256", help="UECFood-256: 256 classes, bounding-box crops")
    p.add_argument("root", help="extracted UECFOOD256 folder (category.txt, 1/ ... 256/)")
    p.add_argument("out", help="new output folder")
    _split_options(p, prepare_uecfood256, "threads for cropping")
    p.set_defaults(func=_cmd_prepare)
    p = kinds.add_parser("cat2dog", help="DRIT cat2dog: classes cat and dog with DRIT's own train/test split")
    p.add_argument("root", help="folder with trainA, trainB, testA, testB")
    p.add_argument("out", help="new output folder")
    p.add_argument(
        "--workers",
        type=int,
        default=default_of(prepare_cat2dog, "workers"),
        help="threads for checking images (default %(default)s)",
    )
    p.set_defaults(func=_cmd_prepare)


def _cmd_shapes(args: argparse.Namespace) -> None:
    from deepi2i.data import make_shapes

    with _warnings_reported("shapes"):
        manifest = make_shapes(
            args.out,
            domain=args.domain,
            per_class=args.per_class,
            resolution=args.resolution,
            seed=args.seed,
            classes=args.classes,
            test_fraction=args.test_fraction,
            workers=args.workers,
        )
    print(
        f"wrote {len(manifest['images'])} {args.domain} images ({len(manifest['classes'])} classes x "
        f"{manifest['per_class']}, {manifest['resolution']} px) to {args.out}"
    )


def _cmd_split(args: argparse.Namespace) -> None:
    from deepi2i.data.manifest import load_or_create_manifest, manifest_summary

    with _warnings_reported("split"):
        manifest = load_or_create_manifest(
            args.root,
            seed=args.seed,
            test_fraction=args.test_fraction,
            resplit=args.resplit,
            manifest_path=args.manifest,
            workers=args.workers,
        )
    print(manifest_summary(manifest))


def _cmd_prepare(args: argparse.Namespace) -> None:
    from deepi2i.data import prepare

    # --seed / --test-fraction only when given: the preparers hold the defaults
    split = {k: v for k in ("seed", "test_fraction") if (v := getattr(args, k, None)) is not None}
    with _warnings_reported("prepare"):
        if args.dataset == "animalfaces":
            report = prepare.prepare_animalfaces(
                args.imagenet_train, args.coordinates, args.out, workers=args.workers, **split
            )
        elif args.dataset == "nabirds":
            report = prepare.prepare_nabirds(
                args.root,
                args.out,
                crop=args.crop,
                official_split=args.official_split,
                workers=args.workers,
                **split,
            )
        elif args.dataset == "uecfood256":
            report = prepare.prepare_uecfood256(args.root, args.out, workers=args.workers, **split)
        else:
            report = prepare.prepare_cat2dog(args.root, args.out, workers=args.workers)
    print(report.summary())


def _add_training_commands(sub: argparse._SubParsersAction) -> None:
    from deepi2i.training.config import (
        ADV_LOSSES,
        AMP_MODES,
        AUGMENTS,
        COLOR_TERMS,
        PRESETS,
        REC_DISTANCES,
        TRANSFERABLE,
        TrainConfig,
    )

    def tc(name: str) -> Any:  # the TrainConfig default a preset keeps unless it sets the field itself
        return default_of(TrainConfig, name)

    def td(name: str, off: bool = False, task: str = "translate") -> str:
        """The TrainConfig default, then each preset that sets its own for `task` (help must match the runs)."""

        def shown(v: Any) -> str:
            return (",".join(v) or "none") if isinstance(v, tuple) else str(v)

        own = [f"{k}: {shown(v[name])}" for k, p in PRESETS.items() if name in (v := p.task_settings(task))]
        return shown(tc(name)) + (": off" if off else "") + (f"; preset {', '.join(own)}" if own else "")

    def run_options(p: argparse.ArgumentParser, task: str) -> None:
        p.add_argument(
            "--data",
            required=True,
            metavar="DIR",
            help="class folder DIR/<class>/<images> (split on first use)",
        )
        p.add_argument(
            "--out",
            required=True,
            metavar="RUN",
            help="run folder; rerunning the same command resumes from its newest checkpoint",
        )
        p.add_argument("--preset", required=True, choices=list(PRESETS), help=f"training preset ({', '.join(PRESETS)})")
        p.add_argument("--kimg", type=float, help="total length in thousands of images (default: the preset's)")
        p.add_argument("--batch-size", type=int, help="global batch per optimizer step (over all processes)")
        p.add_argument("--accumulation", type=int, help="micro-batches per step and process (gradient accumulation)")
        p.add_argument("--seed", type=int, help="seed of initialisation, data order, z and classes")
        p.add_argument(
            "--ch",
            type=int,
            help="network width of a model built from the preset; with a source, only of a generator that "
            "--init-from-source leaves out",
        )
        p.add_argument("--lr-g", type=float, help=f"generator learning rate (default {tc('lr_generator')})")
        p.add_argument(
            "--lr-d",
            type=float,
            help=f"discriminator (and encoder, adaptors) learning rate (default {tc('lr_discriminator')})",
        )
        p.add_argument("--ema-decay", type=float, help="EMA decay of the generator (exports and grids use the EMA)")
        p.add_argument("--no-ema", action="store_true", help="no EMA: export the trained generator itself")
        p.add_argument(
            "--augment",
            metavar="T,T",
            help=f"DiffAugment transforms on the discriminator's adversarial inputs, real and fake: "
            f"comma list of {','.join(AUGMENTS)}, or none; not the paper's (default {td('augment', task=task)})",
        )
        p.add_argument(
            "--freeze-d-blocks",
            type=int,
            metavar="N",
            help="FreezeD: keep the lowest N discriminator blocks at the source's weights; not the paper's "
            f"(default {tc('freeze_d_blocks')})",
        )
        p.add_argument(
            "--ortho-reg",
            type=float,
            nargs="?",
            const=1e-4,
            help="BigGAN's orthogonal regularisation of G (flag alone: 1e-4)",
        )
        p.add_argument(
            "--adv-loss",
            choices=ADV_LOSSES,
            help=f"hinge or the paper's Eq. 1 log form (default {tc('adv_loss')})",
        )
        p.add_argument(
            "--amp",
            choices=AMP_MODES,
            help=f"autocast precision (GPU; bf16 also on CPU; default {tc('amp')})",
        )
        p.add_argument("--channels-last", action="store_true", help="channels-last input images (GPU speed)")
        p.add_argument("--tf32", action="store_true", help="CUDA: TF32 for float32 matmuls and convolutions")
        p.add_argument(
            "--compile", action="store_true", help="torch.compile the networks (minutes to compile; then faster steps)"
        )
        p.add_argument(
            "--cross-replica-bn",
            action="store_true",
            help="batch-norm statistics over all processes (torchrun)",
        )
        p.add_argument("--device", help="cpu, cuda or cuda:N (default: this process's GPU when available)")
        p.add_argument("--workers", type=int, help=f"data-loading worker processes (default {tc('workers')})")
        p.add_argument("--log-every", type=int, help="steps between log records")
        p.add_argument("--sample-every", type=int, help="steps between sample grids")
        p.add_argument("--checkpoint-every", type=int, help="steps between training-state checkpoints")
        p.add_argument(
            "--stop-at-step", type=int, help="stop after this many steps (resume later with the same command)"
        )
        p.add_argument(
            "--restart",
            action="store_true",
            help="move an existing RUN aside (RUN.old-<time>) and start over",
        )
        p.add_argument(
            "--allow-new-data",
            action="store_true",
            help="resume RUN on a --data other than the one it started on",
        )
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("pretrain", help="train a class-conditional BigGAN on a class folder (a transfer source)")
    run_options(p, "pretrain")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("train", help="train DeepI2I on a class folder, transferred from a BigGAN (or from scratch)")
    run_options(p, "translate")
    p.add_argument(
        "--source",
        metavar="SRC",
        help="a deepi2i BigGAN export or a BigGAN-PyTorch folder (G_ema.pth, D.pth)",
    )
    p.add_argument("--scratch", action="store_true", help="every network from random weights, all trained (no source)")
    p.add_argument(
        "--init-from-source",
        metavar="NETS",
        help=f"comma list of {','.join(TRANSFERABLE)} to take from the source "
        "(default all; the rest train from scratch)",
    )
    p.add_argument(
        "--class-map",
        metavar="MAP",
        help="source embedding row per target class: identity (default), offset:N, names, or r0,r1,...",
    )
    p.add_argument("--phase1-kimg", type=float, help="length of phase 1 (adaptors + discriminator) in kimg")
    p.add_argument(
        "--train-encoder",
        action="store_true",
        help="also train the transferred encoder in phase 2 (lr as --lr-d); §3 keeps it frozen, "
        "having found that slightly better",
    )
    p.add_argument(
        "--rec-distance",
        choices=REC_DISTANCES,
        help=f"reconstruction distance (default {tc('rec_distance')}, the paper)",
    )
    p.add_argument("--lambda-adv", type=float, help=f"weight of the adversarial term (default {tc('lambda_adv')})")
    p.add_argument("--lambda-rec", type=float, help=f"weight of the reconstruction term (default {tc('lambda_rec')})")
    p.add_argument(
        "--lambda-color",
        type=float,
        help=f"weight of our colour term (--color-term); not the paper's (default {td('lambda_color', off=True)})",
    )
    p.add_argument(
        "--color-term",
        choices=COLOR_TERMS,
        help="cells: L1 between input and translation average-pooled to --color-grid cells a side; "
        "palette: sliced Wasserstein distance between their pixel colours, wherever the pixels are "
        f"(default {td('color_term')})",
    )
    p.add_argument("--color-grid", type=int, help=f"cells per side of the cells term (default {tc('color_grid')})")
    p.add_argument(
        "--lambda-class",
        type=float,
        help="weight of our class term: cross-entropy of the discriminator's projection read as a classifier, "
        f"on real images (D) and on translations toward their target (G); not the paper's "
        f"(default {td('lambda_class', off=True)})",
    )
    p.add_argument(
        "--adaptor-weights",
        metavar="W",
        help="w_l of Eq. 5: one number for every level or per level, e.g. 4:1,8:1,16:0.3,32:0.1 "
        "(default: the preset's)",
    )
    p.add_argument(
        "--levels",
        metavar="R,R",
        help="pyramid levels connected encoder->generator, e.g. 32 (only the highest resolution) "
        "or 8 (the paper's w-3)",
    )
    p.add_argument(
        "--no-adaptors",
        action="store_true",
        help="the paper's †DeepI2I: encoder features added without adaptors",
    )
    p.add_argument(
        "--rec-weights",
        metavar="A",
        help="alpha_l of Eq. 3 per level, e.g. 4:0.1,8:0.1,16:0.1,32:0.01 (default: the paper's, as shown)",
    )
    p.set_defaults(func=_cmd_train)


def _level_weights(spec: str | None, flag: str, allow_scalar: bool = True) -> float | dict[int, float] | None:
    """'0.1' (every level) or '4:1,8:1,16:0.3,32:0.1' (per resolution) -> a number or {level: weight}."""
    if spec is None:
        return None
    try:
        if ":" not in spec and allow_scalar:
            return float(spec)
        pairs = [item.split(":") for item in spec.split(",") if item.strip()]
        return {int(level): float(w) for level, w in pairs}
    except ValueError:
        form = "a number or " if allow_scalar else ""
        raise CLIError(
            f"{flag} {spec!r}: expected {form}level:weight pairs such as 4:0.1,8:0.1,16:0.1,32:0.01"
        ) from None


def _model_overrides(args: argparse.Namespace) -> dict[str, object]:
    """DeepI2IConfig fields the command line sets: w_l, the connected levels, †DeepI2I."""
    values = {
        "adaptor_weights": _level_weights(getattr(args, "adaptor_weights", None), "--adaptor-weights"),
        "levels": tuple(int(v) for v in args.levels.split(",")) if getattr(args, "levels", None) else None,
        "use_adaptors": False if getattr(args, "no_adaptors", False) else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _training_overrides(args: argparse.Namespace) -> dict[str, object]:
    """TrainConfig fields the command line sets (None: keep the preset's)."""
    values = {
        "batch_size": args.batch_size,
        "accumulation": args.accumulation,
        "seed": args.seed,
        "lr_generator": args.lr_g,
        "lr_discriminator": args.lr_d,
        "lr_encoder": args.lr_d,
        "lr_adaptors": args.lr_d,
        "ema_decay": args.ema_decay,
        "ortho_reg": args.ortho_reg,
        "freeze_d_blocks": args.freeze_d_blocks,
        "adv_loss": args.adv_loss,
        "amp": args.amp,
        "workers": args.workers,
        "log_every": args.log_every,
        "sample_every": args.sample_every,
        "checkpoint_every": args.checkpoint_every,
        "rec_distance": getattr(args, "rec_distance", None),
        "rec_weights": _level_weights(getattr(args, "rec_weights", None), "--rec-weights", allow_scalar=False),
        "lambda_adv": getattr(args, "lambda_adv", None),
        "lambda_rec": getattr(args, "lambda_rec", None),
        "lambda_color": getattr(args, "lambda_color", None),
        "color_term": getattr(args, "color_term", None),
        "color_grid": getattr(args, "color_grid", None),
        "lambda_class": getattr(args, "lambda_class", None),
        "augment": _augment_list(args.augment),
        "channels_last": args.channels_last or None,
        "tf32": args.tf32 or None,
        "compile": args.compile or None,
        "cross_replica_bn": args.cross_replica_bn or None,
    }
    changes = {k: v for k, v in values.items() if v is not None}
    if args.no_ema:
        changes["ema_decay"] = None
    return changes


def _augment_list(spec: str | None) -> tuple[str, ...] | None:
    """'translation,cutout' -> ('translation', 'cutout'); 'none' -> (); None (not given) -> None."""
    if spec is None:
        return None
    from deepi2i.training.config import AUGMENTS

    names = tuple(n.strip() for n in spec.split(",") if n.strip() and n.strip() != "none")
    unknown = sorted(set(names) - set(AUGMENTS))
    if unknown:
        raise CLIError(f"--augment {spec!r}: unknown {', '.join(unknown)}; choose from {', '.join(AUGMENTS)} or none")
    return names


def _run_training(args: argparse.Namespace, task: str) -> None:
    from deepi2i.training import NonFiniteLossError, preset_config, pretrain, train

    scratch = getattr(args, "scratch", False)
    if task == "translate":
        if scratch and (args.source or args.init_from_source):
            raise CLIError("--scratch takes no --source / --init-from-source")
    transfer = None
    if getattr(args, "init_from_source", None):
        transfer = tuple(n.strip() for n in args.init_from_source.split(",") if n.strip())
    config = preset_config(
        args.preset,
        task,
        args.data,
        kimg=args.kimg,
        phase1_kimg=getattr(args, "phase1_kimg", None),
        scratch=scratch,
        transfer=transfer,
        train_encoder=getattr(args, "train_encoder", False),
        ch=args.ch,
        model_overrides=_model_overrides(args),
        **_training_overrides(args),
    )
    try:
        if task == "pretrain":
            result = pretrain(
                args.data,
                args.out,
                config,
                device=args.device,
                progress=not args.no_progress,
                stop_at_step=args.stop_at_step,
                restart=args.restart,
                allow_new_data=args.allow_new_data,
            )
        else:
            result = train(
                args.data,
                args.out,
                config,
                args.source,
                class_map=args.class_map,
                device=args.device,
                progress=not args.no_progress,
                stop_at_step=args.stop_at_step,
                restart=args.restart,
                allow_new_data=args.allow_new_data,
            )
    except NonFiniteLossError as err:
        raise CLIError(str(err)) from err
    if result.moved_aside is not None:
        print(f"moved the previous run to {result.moved_aside}")
    if result.export is not None:
        print(f"wrote {result.export}")
    elif not result.complete:
        print(f"stopped after step {result.step} of {result.total_steps}; rerun the same command to continue")


def _cmd_pretrain(args: argparse.Namespace) -> None:
    _run_training(args, "pretrain")


def _cmd_train(args: argparse.Namespace) -> None:
    _run_training(args, "translate")


def _add_web_commands(sub: argparse._SubParsersAction) -> None:
    from deepi2i.web import WebLimits, serve

    d = WebLimits()
    p = sub.add_parser(
        "serve", help='web demo: translate uploaded images in the browser (needs pip install -e ".[web]")'
    )
    p.add_argument(
        "--model",
        default="shapes",
        metavar="EXPORT|NAME",
        help="export folder or shipped model name (default shapes)",
    )
    p.add_argument(
        "--host",
        default=default_of(serve, "host"),
        help="address to listen on (default %(default)s: this machine only)",
    )
    p.add_argument("--port", type=int, default=default_of(serve, "port"), help="port (default %(default)s)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument(
        "--max-bytes", type=int, default=d.max_bytes, help=f"largest upload in bytes (default {d.max_bytes})"
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=d.max_pixels,
        help=f"largest upload in pixels (default {d.max_pixels})",
    )
    p.add_argument(
        "--max-samples",
        type=int,
        default=d.max_samples,
        help=f"most samples per class (default {d.max_samples})",
    )
    p.add_argument(
        "--max-outputs",
        type=int,
        default=d.max_outputs,
        help=f"most images per request (default {d.max_outputs})",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=d.concurrency,
        help=f"model calls at once; others queue (default {d.concurrency})",
    )
    p.add_argument(
        "--queue-size", type=int, default=d.queue_size, help=f"most waiting requests (default {d.queue_size})"
    )
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> None:
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise CLIError('the web demo needs Gradio: pip install -e ".[web]"')
    from deepi2i.web import WebLimits, serve

    limits = WebLimits(
        max_bytes=args.max_bytes,
        max_pixels=args.max_pixels,
        max_samples=args.max_samples,
        max_outputs=args.max_outputs,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
    )
    serve(args.model, args.host, args.port, limits, args.device)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deepi2i",
        description="DeepI2I: many-class image-to-image translation transferred from a pretrained BigGAN.",
    )
    from deepi2i.version import __version__

    parser.add_argument("--version", action="version", version=f"deepi2i {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_model_commands(sub)
    _add_training_commands(sub)
    _add_translate_commands(sub)
    _add_data_commands(sub)
    _add_evaluation_commands(sub)
    _add_demo_command(sub)
    _add_web_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CLIError, OSError, ValueError) as err:  # OSError: a path that is a file, not a folder, ...
        print(f"deepi2i {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
