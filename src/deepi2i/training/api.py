"""`pretrain` and `train`: dataset + config (+ source) -> a run folder with an export.

What the `deepi2i pretrain` / `deepi2i train` commands call; usable from Python with any torch
Dataset of (image [3, R, R] in [-1, 1], class index) pairs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from deepi2i.convert import load_biggan
from deepi2i.data.folder import ClassFolderDataset
from deepi2i.data.manifest import MANIFEST_NAME, load_or_create_manifest, read_manifest
from deepi2i.networks.biggan import BigGAN
from deepi2i.pretrained import resolve_model
from deepi2i.training.config import TrainConfig, train_preset
from deepi2i.training.distributed import barrier, current, distributed_session
from deepi2i.training.loop import RunResult, fit
from deepi2i.training.runfolder import claim_run_folder
from deepi2i.training.tasks import PretrainTask, TranslationTask
from deepi2i.training.transfer import parse_class_map, resolve_transfer_config

DataArg = Dataset | str | Path


def open_dataset(
    data: DataArg, resolution: int, split: str = "train", progress: bool = True, decode: bool = True
) -> Dataset:
    """A class folder as a cached ClassFolderDataset (a Dataset passes through unchanged).

    `decode=False` only reads and checks the split manifest; `decode_all()` decodes later.
    """
    if isinstance(data, Dataset):
        return data
    return ClassFolderDataset(data, resolution=resolution, split=split, cache=decode, progress=progress)


@contextlib.contextmanager
def _claimed(
    out: str | Path, data: DataArg, dataset: Dataset, restart: bool, device: str | torch.device | None, progress: bool
) -> Iterator[Path | None]:
    """Own the run folder (moving an old run aside on `restart`) before the slow work: decoding
    the class folder. Its manifest was checked before, so a bad dataset never creates a run folder."""
    info = current(device)
    with claim_run_folder(Path(out), restart=restart, enabled=info.is_main) as moved:
        barrier(info)  # other ranks read checkpoints only after rank 0 moved an old run aside
        if not isinstance(data, Dataset):
            dataset.decode_all(progress)  # type: ignore[attr-defined]
        yield moved


def _sample_dataset(data: DataArg, dataset: Dataset, resolution: int, progress: bool = True) -> Dataset:
    """The test split (held-out inputs make honest grids) when there is one, else the training data.

    Taken from the manifest the training split was opened with: the folder is scanned once per run.
    """
    if isinstance(data, Dataset):
        return dataset
    manifest = dataset.manifest  # type: ignore[attr-defined]
    test = ClassFolderDataset(data, resolution, split="test", cache=True, progress=progress, manifest=manifest)
    return test if len(test) else dataset


def class_names_of(dataset: Dataset) -> tuple[str, ...] | None:
    names = getattr(dataset, "class_names", None)
    return tuple(names) if names is not None else None


def _with_classes(config: TrainConfig, names: Sequence[str] | None) -> TrainConfig:
    if names is None:
        return config
    if len(names) != config.model.n_classes:
        raise ValueError(f"the data has {len(names)} classes but the config is for {config.model.n_classes}")
    if config.model.class_names is not None and tuple(config.model.class_names) != tuple(names):
        raise ValueError("the config's class names differ from the data's class folders")
    return dataclasses.replace(config, model=dataclasses.replace(config.model, class_names=tuple(names)))


def _describe(data: DataArg) -> str:
    return str(Path(data).resolve()) if isinstance(data, (str, Path)) else type(data).__name__


def _fit(
    task: PretrainTask | TranslationTask,
    data: DataArg,
    dataset: Dataset,
    out: str | Path,
    device: str | torch.device | None,
    progress: bool,
    stop_at_step: int | None,
    run_info: dict[str, Any],
    allow_new_data: bool,
    moved: Path | None,
) -> RunResult:
    """The one loop, with sample grids drawn from held-out inputs when the data has a test split."""
    result = fit(
        task,
        dataset,
        out,
        sample_dataset=_sample_dataset(data, dataset, task.config.model.resolution, progress),
        device=device,
        progress=progress,
        stop_at_step=stop_at_step,
        run_info=run_info,
        allow_new_data=allow_new_data,
    )
    return dataclasses.replace(result, moved_aside=moved)


def pretrain(
    data: DataArg,
    out: str | Path,
    config: TrainConfig,
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
    stop_at_step: int | None = None,
    restart: bool = False,
    allow_new_data: bool = False,
) -> RunResult:
    """Train a class-conditional BigGAN (hinge loss, EMA of G) and export it to OUT/export as a transfer source.

    Rerunning resumes OUT; `restart` moves an existing OUT aside (OUT.old-<time>) and starts over;
    `allow_new_data` resumes on a `data` other than the one the run started on (see docs/safety.md).
    """
    if config.task != "pretrain":
        raise ValueError(f"pretrain needs a config with task='pretrain', got {config.task!r}")
    with distributed_session(device):
        dataset = open_dataset(data, config.model.resolution, progress=progress, decode=False)
        config = _with_classes(config, class_names_of(dataset))
        with _claimed(out, data, dataset, restart, device, progress) as moved:
            torch.manual_seed(config.seed)  # the same initial networks on every replica and every rerun
            task = PretrainTask(config)
            info = {"task": "pretrain", "data": _describe(data)}
            return _fit(task, data, dataset, out, device, progress, stop_at_step, info, allow_new_data, moved)


def train(
    data: DataArg,
    out: str | Path,
    config: TrainConfig,
    source: str | Path | BigGAN | None = None,
    *,
    class_map: str | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    stop_at_step: int | None = None,
    restart: bool = False,
    allow_new_data: bool = False,
) -> RunResult:
    """Train DeepI2I: transfer `config.transfer` from `source` (our export, a BigGAN-PyTorch folder or a BigGAN).

    `class_map` chooses the source embedding row of each target class ('identity', 'offset:N',
    'names' or 'r0,r1,...'; see `parse_class_map`); it sets config.class_rows. `restart` and
    `allow_new_data` as in `pretrain`.
    """
    if config.task != "translate":
        raise ValueError(f"train needs a config with task='translate', got {config.task!r}")
    if config.transfer and source is None:  # before the data is decoded: fail in a second, not a minute
        raise ValueError("train needs --source (a BigGAN to transfer from), or --scratch")
    with distributed_session(device), contextlib.ExitStack() as stack:
        dataset = open_dataset(data, config.model.resolution, progress=progress, decode=False)
        config = _with_classes(config, class_names_of(dataset))
        moved = stack.enter_context(_claimed(out, data, dataset, restart, device, progress))
        src: BigGAN | None = None
        info: dict[str, Any] = {"task": "translate", "data": _describe(data), "class_map": class_map}
        if config.transfer:
            assert source is not None
            if isinstance(source, BigGAN):
                src = source
            else:
                src = load_biggan(source)
                info["source"] = str(resolve_model(source).resolve())  # a shipped name -> its folder
            config = resolve_transfer_config(config, src)
            if class_map is not None or config.class_rows is None:
                names = config.model.class_names or tuple(str(i) for i in range(config.model.n_classes))
                rows = parse_class_map(class_map, names, src.config.class_names, src.config.generator.n_classes)
                config = dataclasses.replace(config, class_rows=rows)
        torch.manual_seed(config.seed)
        task = TranslationTask(config, src)
        return _fit(task, data, dataset, out, device, progress, stop_at_step, info, allow_new_data, moved)


def _class_names(data: str | Path) -> list[str]:
    """The class folder's classes from its split manifest (made on first use).

    An existing manifest is only read here: `pretrain` / `train` check it against the folder's files
    when they open the data, so a run scans the folder once.
    """
    path = Path(data) / MANIFEST_NAME
    manifest = read_manifest(path) if path.is_file() else load_or_create_manifest(data)
    return list(manifest["class_names"])


def preset_config(
    preset: str,
    task: str,
    data: str | Path,
    *,
    kimg: float | None = None,
    phase1_kimg: float | None = None,
    scratch: bool = False,
    transfer: Sequence[str] | None = None,
    train_encoder: bool = False,
    ch: int | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """A preset sized for the class folder `data` (its classes), with TrainConfig field overrides.

    `ch` changes the width of a model built from the preset (scratch runs, pretraining, or a generator
    that `transfer` leaves out: the source decides every transferred network's);
    `model_overrides` replaces DeepI2IConfig fields (adaptor_weights, levels, use_adaptors).
    """
    if ch is not None and task == "translate" and not scratch and (transfer is None or "generator" in transfer):
        raise ValueError(
            "--ch sets the width of networks built from scratch; with --source the source decides it, except for "
            "a generator left out of --init-from-source (e.g. --init-from-source encoder,discriminator --ch 16)"
        )
    names = _class_names(data)
    config = train_preset(
        preset,
        task,
        len(names),
        names,
        kimg=kimg,
        phase1_kimg=phase1_kimg,
        scratch=scratch,
        transfer=transfer,
        train_encoder=train_encoder,
    )
    if ch is not None:
        m = config.model
        g, d = dataclasses.replace(m.generator, ch=ch), dataclasses.replace(m.discriminator, ch=ch)
        config = dataclasses.replace(config, model=dataclasses.replace(m, generator=g, discriminator=d, encoder=d))
    if model_overrides:
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, **model_overrides))
    return dataclasses.replace(config, **overrides)
