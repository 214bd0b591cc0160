"""Who owns a run folder, and starting over on purpose.

One process trains into a run folder at a time: it holds an `fcntl.flock` on RUN/.lock (the file
holds its pid, for the message the next process prints). The kernel drops the lock when the
process ends, however it ends, so a lock left by a killed run never blocks the rerun that
resumes it. `--restart` moves the old run aside to a timestamped sibling folder; nothing is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deepi2i._io import atomic_write_bytes, remove_stale_temp_files

LOCK_NAME = ".lock"
# Sub-folders where an interrupted atomic write may have left a temp file.
_WRITTEN = (".", "checkpoints", "samples", "export")

_held: dict[Path, int] = {}  # run folders this process has locked -> nesting depth


class RunFolderBusyError(ValueError):
    """Another process is training into this run folder."""


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another process"
    return f"process {text}" if text else "another process"


@contextlib.contextmanager
def run_lock(run_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold RUN/.lock for the block, or fail at once naming the process that holds it.

    Re-entrant within a process (the API locks before loading data, the loop again). `enabled`
    False (non-main DDP ranks) does nothing: rank 0 owns the folder for the whole group.
    """
    if not enabled:
        yield
        return
    key = run_dir.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunFolderBusyError(
            f"{run_dir} is in use by {_holder(lock)} (it holds {lock}); wait for that run to finish or stop it, "
            "or choose another --out"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode())
        _held[key] = 1
        yield
    finally:
        _held.pop(key, None)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def aside_path(run_dir: Path) -> Path:
    """RUN.old-<local time>[-k]: where `--restart` moves a previous run."""
    base = f"{run_dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = run_dir.with_name(base), 1
    while path.exists():
        k += 1
        path = run_dir.with_name(f"{base}-{k}")
    return path


@contextlib.contextmanager
def claim_run_folder(run_dir: Path, *, restart: bool = False, enabled: bool = True) -> Iterator[Path | None]:
    """Lock the run folder for the block (after moving a previous run aside when `restart`) and
    delete temp files an interrupted write left in it. Yields where the old run went, or None."""
    moved = None
    if enabled and restart and run_dir.is_dir() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        with run_lock(run_dir):
            moved = aside_path(run_dir)
            run_dir.rename(moved)
    with run_lock(run_dir, enabled):
        if enabled:
            for sub in _WRITTEN:
                remove_stale_temp_files(run_dir / sub)
        yield moved


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """RUN/config.json (what `fit` records about a run), {} when absent or unreadable."""
    try:
        info = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def check_same_data(run_dir: Path, run_info: Mapping[str, Any], step: int, allow_new_data: bool) -> str | None:
    """Resuming must use the data the run started on: a different --data is refused unless
    `allow_new_data`, which records the change in RUN/config.json and returns a line saying so."""
    stored = read_run_info(run_dir)
    old, new = stored.get("data"), run_info.get("data")
    if old is None or new is None or old == new:
        return None
    if not allow_new_data:
        raise ValueError(
            f"{run_dir} was trained on {old}, not {new}; rerun with the original --data to resume, pass "
            "--allow-new-data (allow_new_data=True) to continue on the new data, or choose another --out"
        )
    stored["data_history"] = [*stored.get("data_history", []), {"data": old, "until_step": step}]
    stored["data"] = new
    atomic_write_bytes(run_dir / "config.json", (json.dumps(stored, indent=2) + "\n").encode())
    return f"continuing {run_dir} on {new} (it was trained on {old} so far; recorded in config.json)"
