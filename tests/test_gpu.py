"""The CUDA paths a GPU user relies on (skipped where there is no GPU): training runs in every
precision and memory format, computes the CPU's objective, and resumes exactly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from deepi2i.training import fit

from .test_train_loop import changed_params, snapshot, tiny_config, tiny_dataset, translation_task

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("amp", ["none", "bf16", "fp16"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_training_on_cuda_runs_in_every_precision_and_layout(tmp_path: Path, amp: str, channels_last: bool) -> None:
    config = tiny_config(amp=amp, channels_last=channels_last)
    if amp == "fp16":  # GradScaler skips steps while it lowers its scale from 2**16 until the gradients fit
        config = dataclasses.replace(
            config, phases=tuple(dataclasses.replace(p, kimg=8 * p.kimg) for p in config.phases)
        )
    task = translation_task(config)
    before = snapshot(task.networks)
    result = fit(task, tiny_dataset(), tmp_path, device="cuda", progress=False)
    assert result.complete
    for record in _records(tmp_path):
        for key in ("D/loss", "G/adv", "G/rec"):
            assert torch.isfinite(torch.tensor(record[key])), (key, record)
    for name in ("generator", "adaptors", "discriminator"):
        net = task.networks[name]
        before_cpu = {k: v.to("cuda") for k, v in before[name].items()}
        assert changed_params(before_cpu, net), name
        assert all(p.is_cuda and p.dtype == torch.float32 for p in net.parameters()), name


def test_cuda_training_computes_the_cpu_objective(tmp_path: Path) -> None:
    """Step 1's losses are computed before any update, from the same seeded batch: the CUDA run
    (TF32 convolutions) must agree with the CPU's to TF32 rounding."""
    config = tiny_config()
    logs = {}
    for device in ("cpu", "cuda"):
        fit(translation_task(config), tiny_dataset(), tmp_path / device, device=device, progress=False, stop_at_step=1)
        logs[device] = _records(tmp_path / device)[0]
    for key in ("D/loss", "D/real", "D/fake", "G/adv", "G/rec"):
        assert logs["cuda"][key] == pytest.approx(logs["cpu"][key], rel=2e-2, abs=2e-3), key


def test_resume_on_cuda_matches_the_uninterrupted_run(tmp_path: Path) -> None:
    """Kill after step 3 (last checkpoint: step 2), rerun: the same weights as the straight run, up to
    CUDA's non-deterministic reductions."""
    config = tiny_config(checkpoint_every=2, accumulation=2, ema_decay=0.8)
    straight, killed = translation_task(config), translation_task(config)
    fit(straight, tiny_dataset(), tmp_path / "straight", device="cuda", progress=False)
    fit(killed, tiny_dataset(), tmp_path / "killed", device="cuda", progress=False, stop_at_step=3)
    resumed = translation_task(config)
    assert fit(resumed, tiny_dataset(), tmp_path / "killed", device="cuda", progress=False).complete
    for name in ("generator", "adaptors", "discriminator"):
        a, b = straight.networks[name].state_dict(), resumed.networks[name].state_dict()
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-3, atol=1e-4, msg=f"{name}.{k}")
