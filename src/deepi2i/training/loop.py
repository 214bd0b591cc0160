"""The one training loop: pretraining and DeepI2I training are phases of it (phases are data).

`fit` reads top to bottom: the networks, their optimizers and EMA, and the `TrainingCheckpoint`
that saves and restores them; resume or start; then per optimizer step: the step's data (a pure
function of seed and step) and its z / classes (from the loop's own generator, drawn for the
GLOBAL batch and sliced per replica, so that N processes see exactly what one process would),
then a discriminator step and a generator-side step (`train_step`, which accumulates gradients
over micro-batches with `accumulate_gradients`) for the networks the current phase trains.
Frozen networks run in eval mode without gradients. Rank 0 logs, draws sample grids and writes
checkpoints; rerunning the same command resumes from the newest checkpoint to the same
parameters as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from deepi2i._io import atomic_write_bytes
from deepi2i.device import use_tf32
from deepi2i.networks.deepi2i import sample_z
from deepi2i.training.augment import draws
from deepi2i.training.config import TrainConfig
from deepi2i.training.distributed import (
    DistInfo,
    all_reduce_mean,
    barrier,
    convert_cross_replica_bn,
    current,
    wrap,
)
from deepi2i.training.ema import EMA
from deepi2i.training.logs import RunLog
from deepi2i.training.objectives import Batch, LossFn, Objective, TrainingNetworks
from deepi2i.training.phases import Schedule, ScheduledPhase
from deepi2i.training.regularizers import add_ortho_grad_
from deepi2i.training.runfolder import check_same_data, run_lock
from deepi2i.training.state import TrainingCheckpoint
from deepi2i.training.stream import REAL, SOURCE, IndexStream, StepBatches, epoch_permutation
from deepi2i.training.tasks import FixedInputs, Task
from deepi2i.version import __version__

RUN_FORMAT = "deepi2i-run"
# Settings a rerun may change without changing the numbers (the last phase may also be lengthened).
RESUMABLE_FIELDS = (
    "log_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "workers",
    "compile",
    "n_sample_inputs",
    "n_sample_classes",
)
_SAMPLE_STREAM = 2


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stopped before writing any state from that step."""


@dataclass
class RunResult:
    step: int  # optimizer steps done
    total_steps: int
    export: Path | None  # RUN/export once the run is complete
    checkpoint: Path | None  # the newest training state written by this call
    moved_aside: Path | None = None  # where `restart` moved the previous run

    @property
    def complete(self) -> bool:
        return self.step >= self.total_steps


# ---- helpers -----------------------------------------------------------------------------------


def _comparable(config: Mapping[str, Any]) -> dict[str, Any]:
    c = {k: v for k, v in config.items() if k not in RESUMABLE_FIELDS}
    c["phases"] = [dict(p) for p in c["phases"]]
    c["phases"][-1]["kimg"] = None
    return c


def _check_same_run(stored: Mapping[str, Any], config: TrainConfig, where: Path) -> None:
    # read through TrainConfig so that a run written before a field existed compares with its default
    old, new = _comparable(TrainConfig.from_dict(stored).to_dict()), _comparable(config.to_dict())
    if old != new:
        differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise ValueError(
            f"{where} holds a run with a different configuration (differs in: {', '.join(differ)}). "
            "Rerun the original command to resume it, or choose a new --out folder."
        )


@contextlib.contextmanager
def _eval_mode(modules: Mapping[str, nn.Module]) -> Iterator[None]:
    """Eval mode inside; afterwards every submodule's own mode again (FreezeD's blocks stay in eval)."""
    modes = [(m, m.training) for net in modules.values() for m in net.modules()]
    try:
        for net in modules.values():
            net.eval()
        yield
    finally:
        for m, training in modes:
            m.training = training


def _no_sync(wrappers: Sequence[nn.Module], sync: bool) -> contextlib.ExitStack:
    """Skip DDP's gradient all-reduce on all but the last accumulation micro-batch."""
    stack = contextlib.ExitStack()
    if not sync:
        for w in wrappers:
            if hasattr(w, "no_sync"):
                stack.enter_context(w.no_sync())
    return stack


def _write_run_config(run_dir: Path, config: TrainConfig, run_info: Mapping[str, Any] | None) -> None:
    """RUN/config.json: the resolved config plus what the caller records (data path, source, ...); written once."""
    meta = {"format": RUN_FORMAT, "deepi2i_version": __version__, **(run_info or {}), "config": config.to_dict()}
    atomic_write_bytes(run_dir / "config.json", (json.dumps(meta, indent=2) + "\n").encode())


def _loader(dataset: Dataset, stream: IndexStream, config: TrainConfig, info: DistInfo, start: int) -> Iterator[Any]:
    sampler = StepBatches(stream, config.batch_size, info.rank, info.world, start)
    return iter(
        DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=config.workers,
            pin_memory=info.device.type == "cuda",
        )
    )


# ---- one optimizer step ------------------------------------------------------------------------


def draw_batch(
    real_it: Iterator[Any], src_it: Iterator[Any] | None, rng: torch.Generator, config: TrainConfig, mine: slice
) -> Batch:
    """The step's data and noise: z ~ N(0, I) and uniform classes drawn for the GLOBAL batch, this replica's slice.

    Order of draws from `rng` (part of the resume format): y_d, z_d, y_g, z_g, then with
    `config.augment` the augmentation's u_real, u_d, u_g (none without it, so runs without
    augmentation draw what they always drew). `sample_z` without truncation draws exactly what
    `torch.randn` would (BigGAN trains on untruncated N(0, I)).
    """
    b, dim_z, n_classes = config.batch_size, config.model.generator.dim_z_used, config.model.n_classes
    x_real, y_real = next(real_it)
    x_src, y_src = next(src_it) if src_it is not None else (None, None)
    y_d = torch.randint(n_classes, (b,), generator=rng)
    z_d = sample_z(b, dim_z, generator=rng)
    y_g = torch.randint(n_classes, (b,), generator=rng)
    z_g = sample_z(b, dim_z, generator=rng)
    u: list[Tensor | None] = [None, None, None]
    if config.augment:
        u = [
            torch.rand(b, draws(config.augment), generator=rng)[mine] for _ in range(3)
        ]  # real, D-step fake, G-step fake
    return Batch(x_real, y_real, y_d[mine], z_d[mine], y_g[mine], z_g[mine], x_src, y_src, *u)


def accumulate_gradients(
    loss_fn: LossFn,
    nets: TrainingNetworks,
    micro: Sequence[Batch],
    scaler: torch.amp.GradScaler,
    autocast: torch.autocast,
    wrappers: Sequence[nn.Module],
) -> dict[str, Tensor]:
    """Backpropagate the mean of `loss_fn` over the micro-batches; return the mean of its logs.

    DDP's all-reduce of the `wrappers` runs once, on the last micro-batch (stylegan3's idea).
    """
    logs: dict[str, Tensor] = {}
    for i, mb in enumerate(micro):
        with _no_sync(wrappers, sync=i == len(micro) - 1):
            with autocast:
                loss, parts = loss_fn(nets, mb)
            scaler.scale(loss / len(micro)).backward()
        for k, v in parts.items():
            logs[k] = logs.get(k, 0.0) + v.float() / len(micro)
    return logs


def _update(
    names: Sequence[str],
    loss_fn: LossFn,
    nets: TrainingNetworks,
    micro: Sequence[Batch],
    optimizers: Mapping[str, torch.optim.Optimizer],
    scaler: torch.amp.GradScaler,
    autocast: torch.autocast,
    ortho_reg: float,
) -> dict[str, Tensor]:
    """Zero the gradients of `names`, accumulate `loss_fn`'s, (BigGAN's ortho regulariser on G), step."""
    for name in names:
        optimizers[name].zero_grad(set_to_none=True)
    logs = accumulate_gradients(loss_fn, nets, micro, scaler, autocast, [nets.ddp[n] for n in names if n in nets.ddp])
    if ortho_reg > 0 and "generator" in names:
        scaler.unscale_(optimizers["generator"])
        add_ortho_grad_(nets["generator"], ortho_reg, skip=nets["generator"].shared.parameters())
    for name in names:
        scaler.step(optimizers[name])
    scaler.update()
    return logs


def train_step(
    objective: Objective,
    phase: ScheduledPhase,
    nets: TrainingNetworks,
    micro: Sequence[Batch],
    optimizers: Mapping[str, torch.optim.Optimizer],
    scalers: Mapping[str, torch.amp.GradScaler],
    autocast: torch.autocast,
    ortho_reg: float,
) -> dict[str, Tensor]:
    """The discriminator step, then the generator side (D gets no gradient there), for what `phase` trains.

    Work that both steps share and that neither step changes (a frozen encoder's pyramid) is done once.
    """
    logs: dict[str, Tensor] = {}
    frozen = set(nets.raw) - set(phase.train)
    with autocast:
        micro = [objective.prepare(nets, mb, frozen) for mb in micro]
    if "discriminator" in phase.train:
        logs |= _update(["discriminator"], objective.d_loss, nets, micro, optimizers, scalers["D"], autocast, ortho_reg)
    g_side = [n for n in phase.train if n != "discriminator" and n in optimizers]
    if g_side:
        d_params = list(nets["discriminator"].parameters())
        d_flags = [p.requires_grad for p in d_params]  # FreezeD's blocks stay off when D is turned back on
        nets["discriminator"].requires_grad_(False)
        try:
            logs |= _update(g_side, objective.g_loss, nets, micro, optimizers, scalers["G"], autocast, ortho_reg)
        finally:
            for p, flag in zip(d_params, d_flags, strict=True):
                p.requires_grad_(flag)
    for side, scaler in scalers.items():  # fp16: a falling scale is a skipped (overflowed) step, made visible
        if scaler.is_enabled() and logs:
            logs[f"{side}/grad_scale"] = torch.tensor(scaler.get_scale(), device=next(iter(logs.values())).device)
    return logs


def _reduce_logs(
    logs: Mapping[str, Tensor], info: DistInfo, done: int, phase: ScheduledPhase, b_global: int, last_ckpt: Path | None
) -> dict[str, float]:
    """One all-reduce per step: the logged means, and a NaN/inf check every replica agrees on."""
    keys = sorted(logs)
    values = all_reduce_mean(torch.stack([logs[k] for k in keys]), info).tolist() if keys else []
    bad = {k: v for k, v in zip(keys, values, strict=True) if not math.isfinite(v)}
    if bad:
        raise NonFiniteLossError(
            f"training stopped: {', '.join(f'{k} = {v}' for k, v in bad.items())} at step {done} "
            f"(phase {phase.name!r}, {done * b_global / 1000:.3f} kimg). Nothing from this step was saved; "
            f"the last good checkpoint is {last_ckpt or 'none (the run had not written one yet)'} and "
            "rerunning the same command resumes from it. Usual causes: a learning rate too high, fp16 "
            "overflow (try --amp bf16 or none), or NaN/inf in the input images."
        )
    return dict(zip(keys, values, strict=True))


def _stepped_parameters(name: str, net: nn.Module, freeze_d_blocks: int) -> list[nn.Parameter]:
    """The parameters a network's optimizer steps: all but FreezeD's blocks."""
    kept = _frozen_blocks(name, net, freeze_d_blocks)
    skip = set() if kept is None else {id(p) for p in kept.parameters()}
    return [p for p in net.parameters() if id(p) not in skip]


def _frozen_blocks(name: str, net: nn.Module, freeze_d_blocks: int) -> nn.Module | None:
    """The discriminator blocks FreezeD keeps at their source weights in every phase (None: none)."""
    return net.blocks[:freeze_d_blocks] if name == "discriminator" and freeze_d_blocks else None  # type: ignore[index]


def _enter_phase(
    phase: ScheduledPhase, nets: TrainingNetworks, info: DistInfo, runlog: RunLog, n_phases: int, freeze_d_blocks: int
) -> None:
    """Trained networks: train mode, gradients, DDP. Frozen: eval mode, no gradients, never wrapped."""
    for name, net in nets.raw.items():
        trained = name in phase.train
        net.train(trained)
        net.requires_grad_(trained)
        if (kept := _frozen_blocks(name, net, freeze_d_blocks)) is not None:
            kept.eval().requires_grad_(False)
    nets.ddp = {}
    for name in phase.train:
        if name in nets.raw and (wrapped := wrap(nets[name], info, name == "encoder")) is not nets[name]:
            nets.ddp[name] = wrapped
    runlog.set_phase(phase.name)
    frozen = sorted(set(nets.raw) - set(phase.train))
    freezed = f", discriminator blocks 0-{freeze_d_blocks - 1} kept at the source (FreezeD)" if freeze_d_blocks else ""
    runlog.message(
        f"phase {phase.index + 1}/{n_phases} {phase.name!r}: steps {phase.start}-{phase.end}, "
        f"training {list(phase.train)}, frozen {frozen}{freezed}"
    )


# ---- samples and export (rank 0) ---------------------------------------------------------------


def _fixed_inputs(task: Task, dataset: Dataset, device: torch.device) -> FixedInputs:
    """The same z, target classes (evenly spread) and, for translation, inputs for every grid."""
    c = task.config
    n_classes = c.model.n_classes
    classes = torch.linspace(0, n_classes - 1, min(c.n_sample_classes, n_classes)).round().long()
    n = c.n_sample_inputs
    x = None
    if task.uses_source_images:
        n = min(n, len(dataset))  # type: ignore[arg-type]
        idx = epoch_permutation(len(dataset), c.seed, _SAMPLE_STREAM, 0)[:n].tolist()  # type: ignore[arg-type]
        x = torch.stack([dataset[i][0] for i in idx]).to(device)
    z = sample_z(n, c.model.generator.dim_z_used, generator=torch.Generator().manual_seed(c.seed + 1))
    return FixedInputs(z=z.to(device), classes=classes.to(device), x=x)


def _shown_generator(nets: TrainingNetworks, ema: EMA | None) -> nn.Module:
    """What grids and the export use: the EMA generator when there is one."""
    return ema.module if ema is not None else nets["generator"]


def _draw_samples(
    task: Task, nets: TrainingNetworks, ema: EMA | None, fixed: FixedInputs | None, runlog: RunLog, step: int
) -> None:
    if fixed is None:
        return
    with _eval_mode(nets.raw):
        cells, headers = task.sample_grid(nets, _shown_generator(nets, ema), fixed)
    runlog.image(step, cells, headers)


def _export(task: Task, run_dir: Path, nets: TrainingNetworks, ema: EMA | None, info: DistInfo) -> Path | None:
    return task.export(run_dir / "export", _shown_generator(nets, ema)) if info.is_main else None


# ---- the loop ----------------------------------------------------------------------------------


def fit(
    task: Task,
    dataset: Dataset,
    run_dir: str | Path,
    *,
    sample_dataset: Dataset | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    stop_at_step: int | None = None,
    run_info: Mapping[str, Any] | None = None,
    allow_new_data: bool = False,
) -> RunResult:
    """Train `task` on `dataset` into `run_dir`, resuming from its newest checkpoint if there is one.

    `stop_at_step` stops after that many optimizer steps without exporting (what a kill leaves
    behind, for tests and for splitting a run over several jobs). `run_info` is recorded in
    RUN/config.json next to the resolved config (data path, source, ...); resuming with another
    `run_info["data"]` is refused unless `allow_new_data`. The run folder is locked while training.
    """
    info = current(device)
    with run_lock(Path(run_dir), enabled=info.is_main):
        return _fit(
            task, dataset, Path(run_dir), info, sample_dataset, progress, stop_at_step, run_info, allow_new_data
        )


def _fit(
    task: Task,
    dataset: Dataset,
    run_dir: Path,
    info: DistInfo,
    sample_dataset: Dataset | None,
    progress: bool,
    stop_at_step: int | None,
    run_info: Mapping[str, Any] | None,
    allow_new_data: bool,
) -> RunResult:
    config = task.config
    schedule = Schedule.build(config.phases, config.batch_size)
    total = schedule.total_steps
    b_global = config.batch_size
    if b_global % (info.world * config.accumulation):
        raise ValueError(
            f"batch size {b_global} does not split into {info.world} processes x "
            f"{config.accumulation} accumulation steps"
        )
    b_local = b_global // info.world
    mine = slice(info.rank * b_local, (info.rank + 1) * b_local)  # this replica's part of the global batch

    # ---- networks, optimizers, EMA, the loop's generator (z, classes), and the checkpoint holding them
    nets = TrainingNetworks(task.networks)
    for net in nets.raw.values():
        net.to(info.device)
    if config.cross_replica_bn:
        convert_cross_replica_bn(nets["generator"])
    if config.tf32:
        use_tf32(info.device)
    if config.compile:  # in place: parameter names, checkpoints and exports stay those of the plain modules
        for net in nets.raw.values():
            net.compile()
    optimizers = {
        # fused: one kernel for all of a network's parameters (CPU and CUDA; same update rule)
        name: torch.optim.Adam(params, lr=config.lr(name), betas=config.betas, eps=config.adam_eps, fused=True)
        for name in schedule.trained_networks()
        if (params := _stepped_parameters(name, nets[name], config.freeze_d_blocks))
    }
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
    autocast = torch.autocast(info.device.type, dtype=amp_dtype, enabled=amp_dtype is not None)
    scalers = {side: torch.amp.GradScaler(info.device.type, enabled=config.amp == "fp16") for side in ("D", "G")}
    ema = EMA(nets["generator"], config.ema_decay) if config.ema_decay is not None else None
    rng = torch.Generator().manual_seed(config.seed)  # z and classes; data order has its own streams
    checkpoint = TrainingCheckpoint(
        run_dir,
        networks=nets.raw,
        optimizers=optimizers,
        scalers=scalers,
        ema=ema,
        rng=rng,
        batch_size=b_global,
        keep=config.keep_checkpoints,
    )

    # ---- resume or start
    start, last_ckpt, data_note = 0, None, None
    if (resumed := checkpoint.latest()) is not None:
        last_ckpt, state = resumed
        _check_same_run(state["config"], config, run_dir)
        data_note = (
            check_same_data(run_dir, run_info or {}, int(state["step"]), allow_new_data) if info.is_main else None
        )
        start = checkpoint.load(state, last_ckpt)
    elif info.is_main:
        _write_run_config(run_dir, config, run_info)
    if start >= total:
        out = run_dir / "export"
        done_export = out if (out / "config.json").is_file() else _export(task, run_dir, nets, ema, info)
        return RunResult(start, total, done_export, last_ckpt)

    # ---- data: one stream of real images, one of translation inputs; sample-grid inputs; the log
    real_it = _loader(dataset, IndexStream(len(dataset), config.seed, REAL), config, info, start)  # type: ignore[arg-type]
    src_it = (
        _loader(dataset, IndexStream(len(dataset), config.seed, SOURCE), config, info, start)  # type: ignore[arg-type]
        if task.uses_source_images
        else None
    )
    fixed = (
        _fixed_inputs(task, sample_dataset if sample_dataset is not None else dataset, info.device)
        if info.is_main
        else None
    )
    runlog = RunLog(
        run_dir, enabled=info.is_main, total_steps=total, start_step=start, batch_size=b_global, progress=progress
    )
    if data_note:
        runlog.message(data_note)

    phase: ScheduledPhase | None = None
    sums: dict[str, float] = {}
    n_summed = 0
    try:
        if start == 0:
            _draw_samples(task, nets, ema, fixed, runlog, 0)
        for step in range(start, total):
            sp = schedule.phase_at(step)
            if phase is None or sp.index != phase.index:
                phase = sp
                _enter_phase(phase, nets, info, runlog, len(schedule.phases), config.freeze_d_blocks)

            batch = draw_batch(real_it, src_it, rng, config, mine).to(info.device, config.channels_last)
            micro = batch.split(config.accumulation)
            logs = train_step(task.objective, phase, nets, micro, optimizers, scalers, autocast, config.ortho_reg)
            done = step + 1
            if ema is not None and "generator" in phase.train:
                ema.update(nets["generator"], 0.0 if done * b_global / 1000 < config.ema_start_kimg else None)
            for k, v in _reduce_logs(logs, info, done, phase, b_global, last_ckpt).items():
                sums[k] = sums.get(k, 0.0) + v
            n_summed += 1
            runlog.advance()

            # ---- logs, samples, checkpoints (rank 0)
            if done % config.log_every == 0 or done == phase.end:
                runlog.scalars(done, phase.name, {k: v / n_summed for k, v in sums.items()})
                sums, n_summed = {}, 0
            if done % config.sample_every == 0 or done == total:
                _draw_samples(task, nets, ema, fixed, runlog, done)
            if (done % config.checkpoint_every == 0 or done == total) and info.is_main:
                last_ckpt = checkpoint.save(done, phase.name, config)
            if stop_at_step is not None and done >= stop_at_step and done < total:
                return RunResult(done, total, None, last_ckpt)
        out = _export(task, run_dir, nets, ema, info)
        barrier(info)
        return RunResult(total, total, out, last_ckpt)
    finally:
        runlog.close()
