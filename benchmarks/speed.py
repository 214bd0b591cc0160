"""Every speed figure of docs/benchmarks.md in one run, each beside this machine's peak measured in that run.

    python benchmarks/speed.py [--official PATH] [--rounds 2] [--threads 2] [--device cpu]
                               [--only peak,train128,shapes64,translate149,eval] [--quick] [--no-append]

Each measurement runs in a fresh child process (so one cannot warm or fragment memory for the next)
and prints one JSON line; this parent collects them, prints a table and appends a dated section
with the machine, the command and the table to docs/benchmarks.md (unless --no-append).

- peak: fp32 matmul 2048² and a 3×3 conv (batch 8, 256→256 channels, 32×32) in NCHW and
  channels_last: the arithmetic ceiling every other row is compared with (measured at the start
  and the end of the run, so a machine that changed speed under us shows).
- train128: one DeepI2I phase-2 iteration at 128 px, ch 16, batch 8, 10 classes, attention at 64
  through the real loop (`deepi2i.training.fit`), median over steps after two skipped.
- shapes64: one step of the `shapes64` preset (what the Shapes runs do for hours).
- translate149: one 128 px input into 149 classes with the paper-size model (ch 96, random weights):
  `Translator` (encoder and adaptors once per input, the generator in batches of --translate-batch).
- eval: `deepi2i evaluate` of the shipped `shapes` model on freshly rendered Shapes data
  (translations per second, the whole command's wall time).
- With --official PATH (a checkout of yaxingwang/DeepI2I's DeepI2I_BigGAN folder, used for timing
  only): the official training iteration (train_fns.GAN_training_function, stage 2) at the
  train128 configuration and its encoder -> adaptors -> generator loop over 149 classes in
  batches of 8, interleaved round by round with ours, and the ratios of the same run.

On a GPU: `--device cuda --train-ch 96 --train-batch 32 [--amp bf16] [--channels-last] [--compile]` gives the
paper-size training figures (TF32 is on in the CUDA workers).

Speeds are GFLOP/s of the work torch's FlopCounterMode counts; "of peak" divides by the faster
conv peak of this run. Nothing is ever divided by a figure measured on another machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch

from deepi2i.device import use_tf32

ROOT = Path(__file__).resolve().parents[1]


# ---- helpers used by the workers -------------------------------------------------------------


def timed(
    fn: Callable[[], object], repeats: int, warmup: int = 1, sync: Callable[[], None] = lambda: None
) -> list[float]:
    """Seconds of `repeats` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return times


def flops_of(fn: Callable[[], object]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def sync_for(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def warmup(device: torch.device) -> int:
    """Untimed calls before a one-shot timing: one on CUDA (kernel selection, lazy init), none on the CPU."""
    return 1 if device.type == "cuda" else 0


def memory(device: torch.device) -> dict[str, float]:
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


# ---- workers: each runs in its own process and returns one dict ---------------------------------


AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def work_peak(a: argparse.Namespace, device: torch.device) -> dict:
    """Matmul and 3x3-conv rates in the run's precision (--amp), sized to fill the device."""
    sync = sync_for(device)
    gpu = device.type == "cuda"
    dtype = AMP_DTYPES.get(a.amp, torch.float32)
    n, batch = (8192, 64) if gpu else (2048, 8)
    m = torch.randn(n, n, device=device, dtype=dtype)
    t = statistics.median(timed(lambda: m @ m, 10, 2, sync))
    out = {"matmul_gflops": 2 * n**3 / t / 1e9, "n": n, "batch": batch, "dtype": str(dtype).removeprefix("torch.")}
    x = torch.randn(batch, 256, 32, 32, device=device, dtype=dtype)
    w = torch.randn(256, 256, 3, 3, device=device, dtype=dtype)
    conv_flop = 2 * batch * 256 * 256 * 9 * 32 * 32
    with torch.inference_mode():
        for name, fmt in (("conv_nchw_gflops", torch.contiguous_format), ("conv_cl_gflops", torch.channels_last)):
            xf, wf = x.contiguous(memory_format=fmt), w.contiguous(memory_format=fmt)
            t = statistics.median(
                timed(lambda xf=xf, wf=wf: torch.nn.functional.conv2d(xf, wf, padding=1), 10, 2, sync)
            )
            out[name] = conv_flop / t / 1e9
    return out


def _fit_steps(config, source, data, device: torch.device, steps: int) -> list[float]:
    from deepi2i.training import TranslationTask, fit

    with tempfile.TemporaryDirectory() as run:
        fit(TranslationTask(config, source), data, run, device=device, progress=False, stop_at_step=steps)
        records = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines()]
    return [r["sec_per_step"] for r in records][2:]  # skip warm-up and the step-0 sample grid


def _train_setup(preset: str, a: argparse.Namespace, steps: int):
    from torch.utils.data import TensorDataset

    from deepi2i.config import BigGANConfig
    from deepi2i.networks.biggan import BigGAN
    from deepi2i.training.config import PhaseConfig, train_preset

    config = train_preset(preset, "translate", n_classes=10)
    m = config.model
    g, d = m.generator, m.discriminator
    if preset == "paper128":  # default: the official code's timed CPU configuration, ch 16, batch 8
        ch, batch = a.train_ch, a.train_batch
        g, d = dataclasses.replace(g, ch=ch), dataclasses.replace(d, ch=ch)
        config = dataclasses.replace(config, batch_size=batch, accumulation=1)
    trains = ("generator", "adaptors", "discriminator")
    config = dataclasses.replace(
        config,
        model=dataclasses.replace(m, generator=g, discriminator=d, encoder=d),
        phases=(PhaseConfig("phase2", steps * config.batch_size / 1000, trains),),
        log_every=1,
        sample_every=10**9,
        checkpoint_every=10**9,
        n_sample_inputs=2,
        n_sample_classes=2,
        amp=a.amp,
        channels_last=a.channels_last,
        compile=a.compile,
    )
    torch.manual_seed(0)
    source = BigGAN(BigGANConfig(generator=g, discriminator=d)).eval()
    n, r = 4 * config.batch_size, g.resolution
    data = TensorDataset(torch.rand(n, 3, r, r) * 2 - 1, torch.arange(n) % 10)
    return config, source, data


def _work_train(preset: str, a: argparse.Namespace, device: torch.device) -> dict:
    steps = 2 + (2 if a.quick else a.steps)
    config, source, data = _train_setup(preset, a, steps)
    times = _fit_steps(config, source, data, device, steps)
    flop = None
    if not a.quick:  # FLOPs of one step: a 2-step run minus a 1-step run (both draw the step-0 grid)
        from deepi2i.training import TranslationTask, fit

        counts = []
        for n in (1, 2):
            with tempfile.TemporaryDirectory() as run:
                counts.append(
                    flops_of(
                        lambda n=n, run=run: fit(
                            TranslationTask(config, source), data, run, device=device, progress=False, stop_at_step=n
                        )
                    )
                )
        flop = counts[1] - counts[0]
    t = statistics.median(times)
    return {
        "sec": t,
        "times": times,
        "images_per_s": config.batch_size / t,
        "gflop": flop and flop / 1e9,
        **memory(device),
    }


def work_train128(a: argparse.Namespace, device: torch.device) -> dict:
    return _work_train("paper128", a, device)


def work_shapes64(a: argparse.Namespace, device: torch.device) -> dict:
    return _work_train("shapes64", a, device)


def work_translate149(a: argparse.Namespace, device: torch.device) -> dict:
    from deepi2i.config import paper128
    from deepi2i.networks import DeepI2I
    from deepi2i.translate import Translator

    classes = 16 if a.quick else 149
    torch.manual_seed(0)
    translator = Translator(DeepI2I(paper128(classes)), device, a.translate_batch)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    if a.channels_last:  # the input's layout, as training does; convolutions keep it
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=AMP_DTYPES.get(a.amp), enabled=a.amp != "none")

    def run() -> None:
        with autocast:
            translator.translate_tensor(x, list(range(classes)))

    times = timed(run, 1, warmup(device), sync_for(device))
    with torch.inference_mode():
        flop = flops_of(lambda: translator.model.skips(x.to(device)))  # encoder + adaptors, once
        z = torch.zeros(1, translator.model.config.generator.dim_z_used, device=device)
        skips = translator.model.skips(x.to(device))
        flop += classes * flops_of(
            lambda: translator.model.generator(z, torch.zeros(1, dtype=torch.long, device=device), skips=skips)
        )
    return {"sec": min(times), "classes": classes, "gflop": flop / 1e9, **memory(device)}


def work_eval(a: argparse.Namespace, device: torch.device) -> dict:
    per_class = 20 if a.quick else a.eval_per_class
    exe = [sys.executable, "-m", "deepi2i"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "trg"
        subprocess.run(
            [*exe, "shapes", str(data), "--domain", "target", "--per-class", "50", "--seed", "2"],
            check=True,
            capture_output=True,
        )
        t = time.perf_counter()
        subprocess.run(
            [
                *exe,
                "evaluate",
                "--model",
                "shapes",
                "--data",
                str(data),
                "--out",
                f"{tmp}/report",
                "--per-class",
                str(per_class),
                "--metrics",
                "fid,kid,rc,pose",
                "--extractor",
                "classifier",
                "--classifier-epochs",
                "1",
                "--device",
                str(device),
                "--quiet",
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - t
    n = 10 * per_class
    return {"sec": wall, "translations": n, "images_per_s": n / wall}


def _official_modules(path: str) -> types.SimpleNamespace:
    """The official code's modules, imported from PATH for timing (h5py, needed only by its HDF5 loader, stubbed)."""
    sys.path.insert(0, str(Path(path).resolve()))
    sys.modules.setdefault("h5py", types.ModuleType("h5py"))
    import BigGAN  # type: ignore[import-not-found]
    import train_fns  # type: ignore[import-not-found]
    import utils  # type: ignore[import-not-found]

    return types.SimpleNamespace(BigGAN=BigGAN, train_fns=train_fns, utils=utils)


def _official_config(o: types.SimpleNamespace, ch: int, classes: int, batch: int) -> dict:
    """scripts/DeepI2I.sh's settings at another width / class count."""
    c = vars(o.utils.prepare_parser().parse_args([]))
    c.update(
        resolution=128,
        n_classes=classes,
        G_ch=ch,
        D_ch=ch,
        G_attn="64",
        D_attn="64",
        batch_size=batch,
        G_shared=True,
        hier=True,
        dim_z=120,
        shared_dim=128,
        G_nl="inplace_relu",
        D_nl="inplace_relu",
        SN_eps=1e-6,
        BN_eps=1e-5,
        adam_eps=1e-6,
        G_lr=1e-4,
        D_lr=4e-4,
        G_B2=0.999,
        D_B2=0.999,
        num_G_accumulations=1,
        num_D_accumulations=1,
        num_D_steps=1,
        ema=False,
        skip_init=False,
    )
    c["G_activation"] = o.utils.activation_dict[c["G_nl"]]
    c["D_activation"] = o.utils.activation_dict[c["D_nl"]]
    return c


def _official_nets(o: types.SimpleNamespace, c: dict) -> tuple:
    torch.manual_seed(0)
    return tuple(cls(**c) for cls in (o.BigGAN.Generator, o.BigGAN.Discriminator, o.BigGAN.Encoder, o.BigGAN.Alignment))


def work_official_train128(a: argparse.Namespace, device: torch.device) -> dict:
    o = _official_modules(a.official)
    c = _official_config(o, a.train_ch, 10, a.train_batch)
    G, D, E1, A1 = (n.to(device) for n in _official_nets(o, c))
    GD = o.BigGAN.G_D(G, D, E1, A1)
    z_, y_ = o.utils.prepare_z_y(a.train_batch, G.dim_z, 10, device=device, N_target_cate=10)
    state = {"itr": 0, "config": c}
    train = o.train_fns.GAN_training_function(G, D, E1, A1, GD, z_, y_, None, state, c)
    x = torch.rand(a.train_batch, 3, 128, 128, device=device) * 2 - 1
    y = torch.arange(a.train_batch, device=device) % 10
    for net in (G, D, E1, A1):
        net.train()
    step = lambda: train(x, y, x.flip(0), y.flip(0), stage=2)  # noqa: E731
    steps = 2 if a.quick else a.steps
    times = timed(step, steps, 2, sync_for(device))
    flop = None
    if not a.quick:
        try:
            flop = flops_of(step)
        except RuntimeError:  # its z/y are a Tensor subclass that FlopCounterMode's decompositions cannot copy
            flop = None
    t = statistics.median(times)
    return {"sec": t, "times": times, "images_per_s": a.train_batch / t, "gflop": flop and flop / 1e9, **memory(device)}


def work_official_translate149(a: argparse.Namespace, device: torch.device) -> dict:
    """The official test loop's work: encoder -> adaptors -> generator for every output, batches of 8."""
    o = _official_modules(a.official)
    classes = 16 if a.quick else 149
    c = _official_config(o, 96, classes, 8)
    G, D, E1, A1 = (n.to(device).eval() for n in _official_nets(o, c))
    x = torch.rand(1, 3, 128, 128, device=device) * 2 - 1

    def run() -> None:
        with torch.no_grad():
            for start in range(0, classes, 8):
                y = torch.arange(start, min(classes, start + 8), device=device)
                xb = x.expand(len(y), -1, -1, -1)
                feats = A1(L_feat_input=E1(xb, y, E1_output_feat=True))
                G(torch.randn(len(y), G.dim_z, device=device), G.shared(y), feats)

    times = timed(run, 1, warmup(device), sync_for(device))
    return {"sec": min(times), "classes": classes, **memory(device)}


WORKERS = {name.removeprefix("work_"): fn for name, fn in globals().items() if name.startswith("work_")}
SECTIONS = ("peak", "train128", "shapes64", "translate149", "eval")


# ---- the parent: schedule, interleave, report ----------------------------------------------------


def child(name: str, a: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--threads",
        str(a.threads),
        "--device",
        a.device,
        "--steps",
        str(a.steps),
        "--translate-batch",
        str(a.translate_batch),
        "--amp",
        a.amp,
        "--eval-per-class",
        str(a.eval_per_class),
        "--train-ch",
        str(a.train_ch),
        "--train-batch",
        str(a.train_batch),
    ]
    cmd += ["--official", a.official] if a.official else []
    cmd += ["--quick"] if a.quick else []
    cmd += ["--channels-last"] if a.channels_last else []
    cmd += ["--compile"] if a.compile else []
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads)}
    print(f"  {time.strftime('%H:%M:%S')} {name} ...", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:  # one broken row must not cost the others (a lent GPU's time is short)
        print(f"worker {name} failed:\n{proc.stderr[-3000:]}", file=sys.stderr, flush=True)
        lines = proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"]
        return {"failed": lines[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine(device: str) -> str:
    cpu = (
        next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    text = f"{platform.machine()}, {os.cpu_count()} logical CPUs ({cpu}), torch {torch.__version__}"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def report(a: argparse.Namespace, results: dict[str, list[dict]], load: tuple[str, str]) -> str:
    failures = [f"- {name} failed: {r['failed']}" for name, rs in results.items() for r in rs if "failed" in r]
    results = {name: [r for r in rs if "failed" not in r] for name, rs in results.items()}
    peaks = results.get("peak", [])
    conv_peak = max((max(p["conv_nchw_gflops"], p["conv_cl_gflops"]) for p in peaks), default=None)
    mem_head = "peak RSS / CUDA MiB" if a.device.startswith("cuda") else "peak RSS MiB"
    rows = [f"| figure | this run | GFLOP | GFLOP/s | of conv peak | {mem_head} |", "|---|---:|---:|---:|---:|---:|"]
    for i, p in enumerate(peaks):
        rows.append(
            f"| peak ({'start' if i == 0 else 'end'}, {p.get('dtype', 'float32')}): matmul {p.get('n', 2048)}² / "
            f"conv 3×3 batch {p.get('batch', 8)} NCHW / channels_last | "
            f"{p['matmul_gflops']:.0f} / {p['conv_nchw_gflops']:.0f} / {p['conv_cl_gflops']:.0f} GFLOP/s | | | | |"
        )

    def row(label: str, rs: list[dict], unit: str) -> None:
        if not rs:
            return
        secs = [r["sec"] for r in rs]
        t = statistics.median(secs)
        gflop = rs[0].get("gflop")
        rate = gflop / t if gflop else None
        shown = " / ".join(f"{s:.3g}" for s in secs)  # 3 digits: 53.1 s on a CPU, 0.165 s on a GPU
        mem = f"{max(r.get('peak_rss_mib', 0) for r in rs):.0f}"
        if any("cuda_peak_mib" in r for r in rs):
            mem += f" / {max(r.get('cuda_peak_mib', 0) for r in rs):.0f}"
        extra = f" ({rs[0]['images_per_s']:.2f} img/s)" if "images_per_s" in rs[0] and unit == "s/iteration" else ""
        rows.append(
            f"| {label} | {shown} {unit}{extra} | {gflop:.1f} | {rate:.0f} | {rate / conv_peak:.0%} | {mem} |"
            if rate and conv_peak
            else f"| {label} | {shown} {unit}{extra} | | | | {mem} |"
        )

    row(
        f"train128: deepi2i phase-2 iteration (128 px, ch {a.train_ch}, batch {a.train_batch}, 10 classes)",
        results.get("train128", []),
        "s/iteration",
    )
    row("train128: official iteration, same configuration", results.get("official_train128", []), "s/iteration")
    row("shapes64: deepi2i step (preset, batch 32)", results.get("shapes64", []), "s/iteration")
    n = (results.get("translate149") or results.get("official_translate149") or [{"classes": 149}])[0]["classes"]
    row(
        f"one input into {n} classes, paper size: Translator (batch {a.translate_batch})",
        results.get("translate149", []),
        "s",
    )
    row(f"one input into {n} classes: official loop (batch 8)", results.get("official_translate149", []), "s")
    if results.get("eval"):
        e = results["eval"][0]
        rows.append(
            f"| eval: `deepi2i evaluate --model shapes`, {e['translations']} translations (fid,kid,rc,pose) | "
            f"{e['sec']:.1f} s ({e['images_per_s']:.1f} translations/s) | | | | |"
        )
    ratios = []
    for ours, theirs, what in (
        ("train128", "official_train128", "training iteration rate"),
        ("translate149", "official_translate149", "149-class translation"),
    ):
        if results.get(ours) and results.get(theirs):
            per_round = [
                o_["sec"] and t_["sec"] / o_["sec"] for o_, t_ in zip(results[ours], results[theirs], strict=False)
            ]
            ratios.append(
                f"- {what}: deepi2i {' / '.join(f'{r:.2f}×' for r in per_round)} the official code's "
                "(per round, same run)"
            )
    cmd = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    cmd += f"   # deepi2i at {commit.stdout.strip() or 'an unknown commit'}"
    return "\n".join(
        [
            f"## speed.py, {datetime.date.today().isoformat()}",
            "",
            f"Machine: {machine(a.device)}; {a.threads} torch threads, device {a.device}; "
            f"load average {load[0]} at the "
            f"start, {load[1]} at the end.",
            "",
            "```bash",
            cmd,
            "```",
            "",
            *rows,
            "",
            *ratios,
            *failures,
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", help="path of the official DeepI2I_BigGAN folder (timing only)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the train/translate rows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=5, help="timed training steps per round")
    ap.add_argument("--translate-batch", type=int, default=8)
    ap.add_argument("--train-ch", type=int, default=16, help="train128 width (96 = the paper's; GPU runs)")
    ap.add_argument("--train-batch", type=int, default=8, help="train128 batch (32 for the GPU figures)")
    ap.add_argument("--eval-per-class", type=int, default=100)
    ap.add_argument("--amp", default="none", choices=("none", "bf16", "fp16"))
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--compile", action="store_true", help="torch.compile the networks in the training rows")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    ap.add_argument("--quick", action="store_true", help="smoke run: short everything (numbers mean nothing)")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to docs/benchmarks.md")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        torch.set_num_threads(a.threads)
        device = torch.device(a.device)
        use_tf32(device)  # CUDA only
        print(json.dumps(WORKERS[a.worker](a, device)))
        return
    only = a.only.split(",")
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown --only {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    if a.official and not (Path(a.official) / "train_fns.py").is_file():
        ap.error(f"--official {a.official} is not the official DeepI2I_BigGAN folder (no train_fns.py)")
    load_start = f"{os.getloadavg()[0]:.2f}"
    results: dict[str, list[dict]] = {}
    if "peak" in only:
        results.setdefault("peak", []).append(child("peak", a))
    for _ in range(1 if a.quick else a.rounds):
        for name in ("train128", "translate149"):
            if name in only:
                results.setdefault(name, []).append(child(name, a))
                if a.official:
                    results.setdefault(f"official_{name}", []).append(child(f"official_{name}", a))
    if "shapes64" in only:
        results["shapes64"] = [child("shapes64", a)]
    if "eval" in only:
        results["eval"] = [child("eval", a)]
    if "peak" in only:
        results["peak"].append(child("peak", a))
    load_end = f"{os.getloadavg()[0]:.2f}"
    text = report(a, results, (load_start, load_end))
    print(text)
    (Path(tempfile.gettempdir()) / "deepi2i-speed.json").write_text(json.dumps(results, indent=1))
    if not a.no_append:
        with (ROOT / "docs" / "benchmarks.md").open("a") as f:
            f.write("\n" + text)
        print("appended to docs/benchmarks.md")


if __name__ == "__main__":
    main()
