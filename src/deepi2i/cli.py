"""The `deepi2i` command: thin subcommands that parse arguments and call one library function.

Each area registers its subcommands in one `_add_*_commands(sub)` function below; the library
does the work, so everything here is also reachable from Python.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


class CLIError(Exception):
    """A user error: printed as one clear message, exit status 2, no traceback."""


def _add_model_commands(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--sn-eps", type=float, default=None, help="override the spectral-norm eps (default 1e-6)")
    p.add_argument("--bn-eps", type=float, default=None, help="override the batch-norm eps (default 1e-5)")
    p.set_defaults(func=_cmd_import_biggan)


def _cmd_import_biggan(args: argparse.Namespace) -> None:
    from deepi2i.convert import import_biggan

    overrides = {k: v for k, v in {"sn_eps": args.sn_eps, "bn_eps": args.bn_eps}.items() if v is not None}
    generator_file = None if args.generator_file == "auto" else args.generator_file
    out = import_biggan(args.src, args.out, generator_file=generator_file, **overrides)
    print(f"wrote {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepi2i",
        description="DeepI2I: many-class image-to-image translation transferred from a pretrained BigGAN.",
    )
    from deepi2i import __version__

    parser.add_argument("--version", action="version", version=f"deepi2i {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_model_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CLIError, FileNotFoundError, ValueError) as err:
        print(f"deepi2i {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
