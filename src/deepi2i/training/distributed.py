"""Multi-process glue on PyTorch's own engine: torchrun environment, DDP wrapping, cross-replica BN.

`torchrun --nproc_per_node N -m deepi2i train ...` sets RANK / WORLD_SIZE / LOCAL_RANK /
MASTER_ADDR; `distributed_session` joins that group (NCCL on GPUs, gloo on CPUs). Only the
networks a phase trains are wrapped in DistributedDataParallel, and re-wrapped when the phase
changes; frozen networks never are. Rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from deepi2i.device import resolve_device
from deepi2i.networks.layers import BatchNorm, ConditionalBatchNorm


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def current(device: str | torch.device | None = None) -> DistInfo:
    """This process's rank, world size and device (one process when no group is initialised)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, dev)
    return DistInfo(0, 1, 0, dev)


@contextlib.contextmanager
def distributed_session(device: str | torch.device | None = None) -> Iterator[DistInfo]:
    """Join torchrun's process group if WORLD_SIZE > 1 (and leave it at the end if we joined it)."""
    joined = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        dev = resolve_device(device, local_rank)
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        joined = True
    try:
        yield current(device)
    finally:
        if joined:
            dist.destroy_process_group()


def wrap(module: nn.Module, info: DistInfo, find_unused: bool = False) -> nn.Module:
    """DDP around a trained network in multi-process runs; the module itself otherwise.

    `find_unused`: for the encoder, whose blocks past the deepest tapped level get no gradient.
    """
    if info.world == 1 or not any(p.requires_grad for p in module.parameters()):
        return module
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    # buffers follow rank 0 at each forward (DDP's default)
    return DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=find_unused)


def all_reduce_mean(t: Tensor, info: DistInfo) -> Tensor:
    if info.world > 1:
        t = t.clone()
        dist.all_reduce(t)
        t /= info.world
    return t


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


# ---- cross-replica batch norm ------------------------------------------------------------------


class _AllReduceSum(torch.autograd.Function):
    """Sum over replicas whose backward sums the gradients over replicas (as SyncBatchNorm does)."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:  # noqa: ARG004
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: ARG004
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _all_reduce_sum(t: Tensor) -> Tensor:
    return _AllReduceSum.apply(t)


def cross_replica_batch_norm(
    x: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> Tensor:
    """F.batch_norm with the batch statistics of the whole global batch (all replicas), differentiably."""
    if not training or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    xf = x.float()
    dims = [0, 2, 3]
    count = torch.tensor([float(x.numel() // x.shape[1])], device=x.device)
    sums = _all_reduce_sum(torch.cat([xf.sum(dims), count]))
    n = sums[-1]
    mean = sums[:-1] / n  # [C]
    var = _all_reduce_sum(((xf - mean[None, :, None, None]) ** 2).sum(dims)) / n  # biased, as BN normalises
    with torch.no_grad():
        running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
        running_var.mul_(1 - momentum).add_(var.detach() * n / (n - 1), alpha=momentum)
    out = (xf - mean[None, :, None, None]) * torch.rsqrt(var + eps)[None, :, None, None]
    if weight is not None:
        out = out * weight[None, :, None, None] + bias[None, :, None, None]  # type: ignore[index]
    return out.to(x.dtype)


def convert_cross_replica_bn(module: nn.Module) -> int:
    """Make every (conditional) BN in `module` use cross-replica statistics, in place; returns how many.

    Only the normalisation function changes: parameters, buffers and state-dict keys stay.
    """
    n = 0
    for m in module.modules():
        if isinstance(m, (ConditionalBatchNorm, BatchNorm)):
            m.batch_norm = cross_replica_batch_norm
            n += 1
    return n
