"""Private file helpers every module that writes shares: atomic writes, output-folder checks, `StrPath`.

It imports nothing from deepi2i, so data, metrics, training and the networks can all use it
without depending on each other (it used to live in checkpoint.py, which pulled the networks in).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from tqdm.auto import tqdm

StrPath = str | os.PathLike[str]
T = TypeVar("T")
R = TypeVar("R")


class OutputExistsError(FileExistsError):
    """An output path already holds something else; replacing it needs `--overwrite` (overwrite=True)."""


# Temp files of `atomic_write`: `.<name>.<random>.tmp`; a kill between create and rename leaves one.
TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (changing it races threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(f)` on a temp file in the same folder, fsync, then rename: a crash or kill
    never leaves a half-written file behind under `path`. The rename replaces a symlink planted at
    `path` instead of writing through it, and the file gets the permissions a plain `open` would
    (mkstemp's are 0600, which hid outputs from other users of a shared machine)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete `atomic_write` temp files a killed process left in `folder` (call only while owning it)."""
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if TEMP_FILE.match(p.name) and p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """`path` as a folder to write into: an existing file there is a clear error, not a traceback later."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f"{option} {p} is a file, not a folder; choose a folder path")
    return p


def map_with_progress(
    fn: Callable[[T], R], items: Sequence[T], workers: int, processes: bool = False, **bar: Any
) -> list[R]:
    """[fn(x) for x in items] in order, under one tqdm bar (`bar` = tqdm's keywords), serially for
    `workers` <= 1, else in a pool: threads (decoding and file I/O release the GIL) or, with
    `processes`, forked processes (`fn` must then be a module-level function)."""
    bar = {"total": len(items), **bar}
    if workers <= 1:
        return [fn(x) for x in tqdm(items, **bar)]
    if processes:
        with get_context("fork" if os.name == "posix" else "spawn").Pool(workers) as pool:
            return list(tqdm(pool.imap(fn, items, chunksize=64), **bar))
    with ThreadPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(fn, items), **bar))
