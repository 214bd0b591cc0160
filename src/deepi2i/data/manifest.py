"""The split manifest: one JSON file next to a class folder that fixes classes, train/test split and skips.

It is written once (atomically) and then reused by every command, so training, evaluation and
translation all see the same split. If the folder later changes, loading fails loudly instead of
silently re-splitting; the user re-splits on purpose (`resplit=True` / `deepi2i split --resplit`).
"""

from __future__ import annotations

import json
import os
import stat
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deepi2i._io import StrPath, atomic_write_bytes, map_with_progress
from deepi2i.data.images import ImageLoadError, open_rgb

MANIFEST_NAME = "deepi2i_manifest.json"
MANIFEST_FORMAT = "deepi2i-class-folder-split"
MANIFEST_VERSION = 1
DEFAULT_SEED = 0
DEFAULT_TEST_FRACTION = 0.1
# Top-level files whose name starts with this are deepi2i's own metadata, never data.
RESERVED_PREFIX = "deepi2i_"
SPLITS = ("train", "test")


class SkippedFilesWarning(UserWarning):
    """Some files in a class folder could not be used; they are listed in the manifest."""


class ManifestMismatchError(ValueError):
    """The folder no longer matches its manifest (or the requested seed/fraction differ)."""


def _json_lines(value: Any, indent: int = 0) -> str:
    """JSON with one dict key / list item per line and each item compact: readable and diffable, and
    fast for 100k-entry lists because every item goes through json's C encoder."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, Mapping) and value:
        body = ",\n".join(
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_json_lines(v, indent + 1)}" for k, v in value.items()
        )
        return "{\n" + body + "\n" + pad + "}"
    if isinstance(value, list) and value and isinstance(value[0], (list, Mapping)):
        body = ",\n".join(inner + json.dumps(v, ensure_ascii=False) for v in value)
        return "[\n" + body + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def write_json_atomic(path: StrPath, data: Any) -> None:
    """Write JSON atomically (temp file, fsync, rename): a crash never leaves a half-written manifest."""
    atomic_write_bytes(Path(path), (_json_lines(data) + "\n").encode("utf-8"))


def check_new_output_folder(out: StrPath) -> Path:
    """Refuse to mix a new dataset into an existing folder (its split manifest would be wrong)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"output folder {out} exists and is not empty; choose a new folder or delete it first")
    return out


def _hidden(name: str) -> bool:
    return name.startswith(".")


def storable(rel: str) -> str:
    """A path as JSON can hold it: bytes that are not UTF-8 (os gives them as surrogates) become
    `\\xNN` escapes. Such files are only ever listed as skipped, so the lossy form is never opened."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def _name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8 (rename the file)"
    return None


def walk_tree(folder: Path, rel_dir: str, seen: set[tuple[int, int]]) -> Iterator[tuple[str, int, str | None]]:
    """(relative path, size, problem) for every entry under `folder`, following symbolic links.

    Files of a folder come before its sub-folders (os.walk's order), both sorted. One odd entry
    never stops the walk: it is yielded with the reason it cannot be used (broken link, link
    loop, unreadable, not a regular file, name not UTF-8, hidden), size -1 when unknown.
    Folders are yielded as "rel/" with size -1: problem None when entered, else why not. `seen`
    holds the (device, inode) of folders already walked, so a link to a parent is skipped
    instead of followed forever.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        yield f"{rel_dir}/", -1, f"unreadable folder ({err.strerror})"
        return
    subdirs: list[tuple[str, os.DirEntry[str]]] = []
    for e in entries:
        rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
        try:
            st = os.stat(e.path)
        except OSError as err:
            broken = isinstance(err, FileNotFoundError) and e.is_symlink()
            yield storable(rel), -1, "broken symbolic link" if broken else f"unreadable ({err.strerror})"
            continue
        problem = _name_problem(e.name)
        if stat.S_ISDIR(st.st_mode):
            if problem or _hidden(e.name) or (st.st_dev, st.st_ino) in seen:
                why = problem or (
                    "hidden folder" if _hidden(e.name) else "symbolic link to a folder already scanned (a loop)"
                )
                yield storable(rel) + "/", -1, why
            else:
                seen.add((st.st_dev, st.st_ino))
                subdirs.append((rel, e))
        elif not stat.S_ISREG(st.st_mode):
            yield storable(rel), -1, "not a regular file"
        else:
            yield storable(rel), st.st_size, problem or ("hidden file" if _hidden(e.name) else None)
    for rel, e in subdirs:
        yield rel + "/", -1, None
        yield from walk_tree(Path(e.path), rel, seen)


def scan_folder(
    root: StrPath, ignore: Iterable[str] = ()
) -> tuple[dict[str, list[str]], dict[str, int], list[dict[str, str]]]:
    """List a class folder without decoding anything.

    Returns (files per class, size in bytes of every file seen, files skipped by rule). Classes
    are the non-hidden sub-folders of `root`; images may sit in nested folders inside a class.
    Hidden files/folders and loose files at the top level are skipped and reported; top-level
    files named `deepi2i_*` (and the top-level names in `ignore`, e.g. a custom manifest) are
    deepi2i's own metadata and ignored. Entries that cannot be used (see `walk_tree`) are skipped
    with their reason, never fatal.
    """
    root = Path(root)
    ignored = set(ignore)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist (expected ROOT/<class>/<images>)")
    root_stat = root.stat()
    seen = {(root_stat.st_dev, root_stat.st_ino)}
    classes: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    skipped: list[dict[str, str]] = []
    for rel, size, problem in walk_tree(root, "", seen):
        top, _, inner = rel.partition("/")
        if rel.endswith("/") and problem is None:  # a folder walked into; the top-level ones are classes
            if not inner:
                classes[top] = []
            continue
        if not inner:  # a top-level file
            if top.startswith(RESERVED_PREFIX) or top in ignored:
                continue
            problem = problem or "not inside a class folder"
        sizes[rel] = size
        if problem is None:
            classes[top].append(rel)
        else:
            skipped.append({"path": rel, "reason": problem})
    return dict(sorted(classes.items())), sizes, skipped


def _check_file(root: Path, rel: str) -> str | None:
    """None when the file decodes as an image, else the reason it cannot be used."""
    try:
        open_rgb(root / rel, draft_size=1)
    except ImageLoadError as err:
        return str(err).removeprefix(f"{root / rel}: ")
    return None


def _validate(root: Path, paths: list[str], workers: int) -> dict[str, str]:
    """Decode every file once (in threads: Pillow releases the GIL while decoding)."""
    reasons = map_with_progress(
        lambda p: _check_file(root, p), paths, workers, desc=f"checking images in {root.name}", unit="img", leave=False
    )
    return {p: r for p, r in zip(paths, reasons, strict=True) if r is not None}


def _test_count(n: int, test_fraction: float) -> int:
    """Round half up, at least one test image when asked for any, always one train image left."""
    if n < 2 or test_fraction <= 0:
        return 0
    return min(n - 1, max(1, int(n * test_fraction + 0.5)))


def _split_class(name: str, files: list[str], seed: int, test_fraction: float) -> tuple[list[str], list[str]]:
    # The class name (not its index) seeds the shuffle, so adding a class elsewhere does not
    # reshuffle this one.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    order = rng.permutation(len(files))
    n_test = _test_count(len(files), test_fraction)
    test = sorted(files[i] for i in order[:n_test])
    train = sorted(files[i] for i in order[n_test:])
    return train, test


def reason_counts(skipped: Iterable[Mapping[str, str]]) -> Counter[str]:
    """How many files were skipped for each kind of reason (details stripped)."""
    return Counter(s["reason"].split(" (")[0].split(":")[0] for s in skipped)


def reason_summary(skipped: Iterable[Mapping[str, str]]) -> str:
    """'3 not an image, 1 broken link': how many files were skipped for each reason, commonest first."""
    return ", ".join(f"{n} {r}" for r, n in reason_counts(skipped).most_common())


def _summarise_skips(skipped: list[dict[str, str]], root: Path, total: int) -> str:
    listed = ", ".join(s["path"] for s in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
    why = reason_summary(skipped)
    return f"{root}: skipped {len(skipped)} of {total} files ({why}): {listed}"


def build_manifest(
    root: StrPath,
    *,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    given_split: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    validate: bool = True,
    workers: int = 1,
    ignore: Iterable[str] = (),
) -> dict[str, Any]:
    """Scan, check and split a class folder; return the manifest (does not write it).

    `given_split` maps relative paths to "train"/"test" for datasets that ship their own split
    (e.g. cat2dog); every usable file must then be listed. `validate=False` skips decoding (only
    for files deepi2i itself just wrote).
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    root = Path(root)
    classes, sizes, skipped = scan_folder(root, ignore)
    if not classes:
        raise ValueError(
            f"no class folders in {root}: expected {root}/<class name>/<images> (one sub-folder per class)"
        )
    candidates = [p for files in classes.values() for p in files]
    bad = _validate(root, candidates, workers) if validate else {}
    skipped += [{"path": p, "reason": bad[p]} for p in candidates if p in bad]
    skipped.sort(key=lambda s: s["path"])
    empty = [c for c, files in classes.items() if not any(p not in bad for p in files)]
    if empty:
        shown = ", ".join(repr(c) for c in empty[:10]) + (" ..." if len(empty) > 10 else "")
        raise ValueError(
            f"{len(empty)} class folder(s) in {root} contain no readable images: {shown}; "
            "add images or remove the folder(s)"
            + (f"; {_summarise_skips(skipped, root, len(sizes))}" if skipped else "")
        )
    class_names = sorted(classes)
    class_to_idx = {c: i for i, c in enumerate(class_names)}
    splits: dict[str, list[list[Any]]] = {s: [] for s in SPLITS}
    for c in class_names:
        good = [p for p in classes[c] if p not in bad]
        if given_split is not None:
            missing = [p for p in good if given_split.get(p) not in SPLITS]
            if missing:
                raise ValueError(
                    f"given split does not assign {missing[0]} (and {len(missing) - 1} more) to train/test"
                )
            train = [p for p in good if given_split[p] == "train"]
            test = [p for p in good if given_split[p] == "test"]
        else:
            train, test = _split_class(c, good, seed, test_fraction)
        splits["train"] += [[p, class_to_idx[c]] for p in train]
        splits["test"] += [[p, class_to_idx[c]] for p in test]
    if skipped:
        warnings.warn(
            _summarise_skips(skipped, root, len(sizes)) + f" (all listed in {MANIFEST_NAME})",
            SkippedFilesWarning,
            stacklevel=2,
        )
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "split_source": "given" if given_split is not None else "seeded",
        "seed": None if given_split is not None else seed,
        "test_fraction": None if given_split is not None else test_fraction,
        "class_names": class_names,
        "class_to_idx": class_to_idx,
        "counts": {
            "classes": len(class_names),
            "train": len(splits["train"]),
            "test": len(splits["test"]),
            "skipped": len(skipped),
        },
        "splits": splits,
        "skipped": skipped,
        "sizes": sizes,
        "metadata": dict(metadata or {}),
    }


def _diff(old: Mapping[str, int], new: Mapping[str, int]) -> str:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    example = (added + removed + changed)[:3]
    return (
        f"{len(added)} file(s) added, {len(removed)} removed, {len(changed)} changed size (e.g. {', '.join(example)})"
    )


def read_manifest(path: StrPath) -> dict[str, Any]:
    """Load a manifest file and check it is one of ours and consistent (`validate_manifest`)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"manifest {path} is not a file; pass the manifest file's path (or move the folder away)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete it to re-split the folder") from err
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path} is not a deepi2i split manifest; move it away or pass another manifest path")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{path} has manifest version {manifest.get('version')}, expected {MANIFEST_VERSION}")
    problems = manifest_problems(manifest)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ValueError(
            f"{path} is not a consistent split manifest: {problems[0]}{more}. It was edited or damaged: restore "
            f"it, or re-split with `deepi2i split {path.parent} --resplit`"
        )
    return manifest


def _entry_problem(entry: Any, names: list[str], sizes: Mapping[str, Any]) -> str | None:
    if not (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], int)
        and not isinstance(entry[1], bool)
    ):
        return f"entry {str(entry)[:80]} is not [relative path, class index]"
    rel, label = entry
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts) or len(parts) < 2:
        return f"path {rel!r} is not a plain path inside a class folder (absolute paths and '..' are refused)"
    if not 0 <= label < len(names):
        return f"{rel}: class index {label} is out of range (0..{len(names) - 1})"
    if parts[0] != names[label]:
        return f"{rel}: labelled {label} ({names[label]!r}) but it sits in class folder {parts[0]!r}"
    if rel not in sizes:
        return f"{rel} is not among the files the manifest recorded (sizes)"
    return None


def manifest_problems(manifest: Mapping[str, Any]) -> list[str]:
    """Everything that makes a (hand-edited) manifest unusable; [] when it is sound.

    Checked: every key and its type, class_to_idx matching class_names, each entry a path
    inside its own class folder (never absolute or '..'), labels in range, no file in two places,
    counts matching the lists. One function for `split` and for every dataset that trains.
    """
    types = {
        "split_source": str,
        "class_names": list,
        "class_to_idx": dict,
        "counts": dict,
        "splits": dict,
        "skipped": list,
        "sizes": dict,
    }
    problems = [
        f"{k!r} is missing or not a {t.__name__}" for k, t in types.items() if not isinstance(manifest.get(k), t)
    ]
    if problems:
        return problems
    names = manifest["class_names"]
    if not all(isinstance(n, str) and n and "/" not in n for n in names) or len(set(names)) != len(names):
        problems.append("class_names must be distinct folder names")
    elif manifest["class_to_idx"] != {n: i for i, n in enumerate(names)}:
        problems.append("class_to_idx does not match class_names (class i must be class_names[i])")
    if manifest["split_source"] not in ("given", "seeded"):
        problems.append(f"split_source {manifest['split_source']!r} is neither 'given' nor 'seeded'")
    splits, sizes = manifest["splits"], manifest["sizes"]
    if set(splits) != set(SPLITS) or not all(isinstance(splits[k], list) for k in splits):
        return [*problems, f"splits must hold exactly the lists {', '.join(SPLITS)}"]
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in sizes.items()):
        problems.append("sizes must map paths to byte counts")
    if problems:
        return problems
    seen: dict[str, str] = {}
    for split in SPLITS:
        for entry in splits[split]:
            problem = _entry_problem(entry, names, sizes)
            if problem is None and entry[0] in seen:
                problem = f"{entry[0]} is listed in {seen[entry[0]]} and again in {split}"
            if problem is not None:
                problems.append(problem)
            else:
                seen[entry[0]] = split
    skipped_paths = {s.get("path") for s in manifest["skipped"] if isinstance(s, dict)}
    if len(skipped_paths) != len(manifest["skipped"]) or not all(isinstance(p, str) for p in skipped_paths):
        problems.append("skipped must list {path, reason} records")
    elif both := sorted(skipped_paths & set(seen)):
        problems.append(f"{both[0]} is listed as skipped and as data")
    counts = {
        "classes": len(names),
        "train": len(splits["train"]),
        "test": len(splits["test"]),
        "skipped": len(manifest["skipped"]),
    }
    if not problems and manifest["counts"] != counts:
        problems.append(f"counts {manifest['counts']} do not match the lists {counts}")
    return problems


def _own_files(root: Path, manifest_path: Path) -> list[str]:
    """A manifest kept at the top of the folder under a custom name is not data."""
    return [manifest_path.name] if manifest_path.resolve().parent == root.resolve() else []


def check_unchanged(root: StrPath, manifest: Mapping[str, Any], manifest_path: StrPath) -> None:
    """Fail when files were added, removed or changed since the manifest was written."""
    _, sizes, _ = scan_folder(root, _own_files(Path(root), Path(manifest_path)))
    if sizes != manifest["sizes"]:
        raise ManifestMismatchError(
            f"{root} changed since its split manifest {manifest_path} was written: {_diff(manifest['sizes'], sizes)}. "
            f"To keep the same train/test split, restore those files; to re-split on purpose, run "
            f"`deepi2i split {root} --resplit` (Python: resplit=True) or delete the manifest."
        )


def load_or_create_manifest(
    root: StrPath,
    *,
    seed: int | None = None,
    test_fraction: float | None = None,
    resplit: bool = False,
    manifest_path: StrPath | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Return the folder's manifest, creating it on first use; never silently re-split.

    seed/test_fraction None mean "whatever the manifest says" (defaults 0 / 0.1 on creation);
    explicit values that differ from an existing manifest are an error unless `resplit`.
    """
    root = Path(root)
    path = Path(manifest_path) if manifest_path is not None else root / MANIFEST_NAME
    if path.exists() and not resplit:
        manifest = read_manifest(path)
        for name, wanted in (("seed", seed), ("test_fraction", test_fraction)):
            if wanted is not None and manifest["split_source"] == "given":
                raise ManifestMismatchError(
                    f"{path} holds the split shipped with the dataset, so {name} does not apply; drop the "
                    "option, or pass --resplit (resplit=True) to replace it with a seeded split"
                )
            if wanted is not None and wanted != manifest[name]:
                raise ManifestMismatchError(
                    f"{path} was written with {name}={manifest[name]}, but {name}={wanted} was requested; "
                    f"drop the option to reuse the existing split, or pass --resplit (resplit=True) to re-split"
                )
        check_unchanged(root, manifest, path)
        return manifest
    # Re-splitting keeps the old manifest's metadata, seed and fraction unless new ones are given.
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = read_manifest(path)
        except ValueError:
            previous = {}
    if previous.get("split_source") == "seeded":
        seed = previous["seed"] if seed is None else seed
        test_fraction = previous["test_fraction"] if test_fraction is None else test_fraction
    manifest = build_manifest(
        root,
        seed=DEFAULT_SEED if seed is None else seed,
        test_fraction=DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction,
        metadata=previous.get("metadata", {}),
        workers=workers,
        ignore=_own_files(root, path),
    )
    save_manifest(manifest, path)
    return manifest


def save_manifest(manifest: Mapping[str, Any], path: StrPath) -> None:
    """Write `manifest` atomically, with a clear error for read-only dataset folders."""
    try:
        write_json_atomic(path, manifest)
    except PermissionError as err:
        raise PermissionError(
            f"cannot write the split manifest {path} ({err}); pass manifest_path= / --manifest to a writable location"
        ) from err


def split_entries(manifest: Mapping[str, Any], split: str) -> list[tuple[str, int]]:
    """(relative path, label) pairs of one split; "all" is train then test."""
    if split == "all":
        names: Iterable[str] = SPLITS
    elif split in SPLITS:
        names = (split,)
    else:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return [(p, int(y)) for s in names for p, y in manifest["splits"][s]]


def manifest_summary(manifest: Mapping[str, Any]) -> str:
    """A few lines for people: classes, split sizes, how the split was made, what was skipped."""
    counts = manifest["counts"]
    how = (
        "split shipped with the dataset"
        if manifest["split_source"] == "given"
        else f"seeded split: seed {manifest['seed']}, test fraction {manifest['test_fraction']}"
    )
    lines = [
        f"{counts['classes']} classes, {counts['train'] + counts['test']} images "
        f"(train {counts['train']}, test {counts['test']}; {how})"
    ]
    skipped = manifest["skipped"]
    if skipped:
        why = reason_summary(skipped)
        lines.append(f"skipped {len(skipped)} files: {why}")
        lines += [f"  {s['path']}: {s['reason']}" for s in skipped[:10]]
        if len(skipped) > 10:
            lines.append(f"  ... ({len(skipped) - 10} more listed in the manifest)")
    else:
        lines.append("skipped 0 files")
    return "\n".join(lines)
