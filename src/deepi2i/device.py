"""Choosing a torch device, in one place for translation, evaluation and training."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = None, local_rank: int = 0) -> torch.device:
    """None / 'auto' -> this process's GPU (cuda:`local_rank`) when CUDA is available, else the CPU.

    An unknown name, or CUDA asked for where there is none, is a clear error, never a silent
    fallback to the CPU.
    """
    if device is None or str(device) == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here; use --device cpu")
    return dev


def use_tf32(device: torch.device) -> None:
    """Let CUDA run float32 matmuls and convolutions as TF32 (Ampere and later: several times faster,
    10-bit mantissa). Process-wide, as PyTorch's setting is; nothing on the CPU."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        torch.backends.cudnn.conv.fp32_precision = "tf32"
