"""Hostile and careless inputs (issue 11): nothing from a file runs, nothing is lost, one bad file never
sinks a dataset, and every refusal is one line that says what was wrong and what to do.

All tiny, CPU, offline and seeded: 32 px Shapes folders, a tiny export, runs of a few steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from deepi2i._io import OutputExistsError, atomic_write_bytes
from deepi2i.cli import main
from deepi2i.config import tiny
from deepi2i.data import make_shapes
from deepi2i.data.manifest import MANIFEST_NAME, read_manifest
from deepi2i.networks import DeepI2I
from deepi2i.translate import Translator

CLASSES = ["circle", "square", "triangle"]
TINY_RUN = [
    "--preset",
    "tiny",
    "--no-progress",
    "--checkpoint-every",
    "1",
    "--log-every",
    "1",
    "--sample-every",
    "1000",
]


class Payload:
    """Unpickling this runs code: it writes the file named by $DEEPI2I_PWNED."""

    def __reduce__(self):
        return (exec, ("import os, pathlib; pathlib.Path(os.environ['DEEPI2I_PWNED']).write_text('ran')",))


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pwned"
    monkeypatch.setenv("DEEPI2I_PWNED", str(path))
    return path


def evil_file(path: Path, payload: object | None = None) -> Path:
    """A .pth that looks like a state_dict but runs code when unpickled without weights_only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"linear.weight": torch.zeros(1), "state_dict": {"evil": Payload()}} if payload is None else payload, path
    )
    return path


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes") / "data"
    make_shapes(root, "source", per_class=4, resolution=32, seed=0, classes=CLASSES)
    return root


@pytest.fixture
def data(shapes: Path, tmp_path: Path) -> Path:
    """A private copy of the Shapes folder (tests edit it)."""
    return Path(shutil.copytree(shapes, tmp_path / "data"))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = DeepI2I(dataclasses.replace(tiny(resolution=32, ch=4, n_classes=3), class_names=tuple(CLASSES)))
    return model.save_pretrained(tmp_path_factory.mktemp("export") / "model")


@pytest.fixture
def own_export(export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(export, tmp_path / "model"))


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- 1. no code from weights files ---------------------------------------------------------------


def _inception(path: Path) -> None:
    from deepi2i.metrics import create_extractor

    create_extractor("inception", weights=path)


def _inception_env(path: Path) -> None:
    from deepi2i.metrics import create_extractor

    os.environ["DEEPI2I_INCEPTION_WEIGHTS"] = str(path)
    try:
        create_extractor("inception")
    finally:
        del os.environ["DEEPI2I_INCEPTION_WEIGHTS"]


def _biggan_folder(path: Path) -> None:
    from deepi2i.convert import load_biggan_pytorch

    shutil.copy(path, path.parent / "G_ema.pth")
    shutil.copy(path, path.parent / "D.pth")
    load_biggan_pytorch(path.parent)


def _official(path: Path) -> None:
    from deepi2i.convert import load_deepi2i_official

    for name in ("G.pth", "D.pth", "A1.pth"):
        shutil.copy(path, path.parent / name)
    load_deepi2i_official(path.parent)


def _training_state(path: Path) -> None:
    from deepi2i.training.state import load_checkpoint

    load_checkpoint(path)


def _classifier(path: Path) -> None:
    from deepi2i.metrics.classifier import ImageClassifier

    ImageClassifier.load(path)


def _weights(path: Path) -> None:
    from deepi2i.metrics.weights import load_state_dict

    load_state_dict(path, "an LPIPS trunk")


READERS: dict[str, Callable[[Path], None]] = {
    "inception --inception-weights": _inception,
    "inception $DEEPI2I_INCEPTION_WEIGHTS": _inception_env,
    "BigGAN-PyTorch folder (import-biggan, --source)": _biggan_folder,
    "official DeepI2I folder": _official,
    "training state (resume)": _training_state,
    "cached RC classifier": _classifier,
    "LPIPS / classifier initial weights": _weights,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_a_pickle_carrying_code_is_refused_by_every_reader_and_never_runs(
    reader: str, tmp_path: Path, marker: Path
) -> None:
    path = evil_file(tmp_path / "files" / "weights.pth")
    with pytest.raises(
        ValueError,
        match=r"refusing to load .*\.pth .*: it is not a readable file of plain tensors "
        r"\(.*(GLOBAL|global).*\); nothing in it was run",
    ):
        READERS[reader](path)
    assert not marker.exists()


def test_the_inception_hub_cache_goes_through_the_safe_reader(
    tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepi2i.metrics.extractors import INCEPTION_WEIGHTS

    monkeypatch.delenv("DEEPI2I_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    evil_file(tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS.filename)
    from deepi2i.metrics import create_extractor

    with pytest.raises(ValueError, match="refusing to load"):
        create_extractor("inception")
    assert not marker.exists()


def test_import_biggan_from_a_malicious_folder_is_one_line_and_runs_nothing(
    tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture
) -> None:
    evil_file(tmp_path / "src" / "G_ema.pth")
    evil_file(tmp_path / "src" / "D.pth")
    code, _, err = cli(capsys, "import-biggan", str(tmp_path / "src"), str(tmp_path / "out"))
    assert code == 2 and "refusing to load" in one_line_error(err)
    assert not marker.exists() and not (tmp_path / "out").exists()


# ---- 2, 3, 9. run folders: unreadable checkpoints, locks, temp files, data changes ----------------


def pretrain(capsys: pytest.CaptureFixture, data: Path, run: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "pretrain", "--data", str(data), "--out", str(run), *TINY_RUN, *extra)


def test_unreadable_checkpoints_stop_the_run_and_restart_moves_it_aside(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture, one_thread: None
) -> None:
    run = tmp_path / "run"
    assert pretrain(capsys, data, run, "--stop-at-step", "3")[0] == 0
    states = sorted((run / "checkpoints").glob("state-*.pt"))
    assert states
    for p in states:
        p.write_bytes(b"written by a newer deepi2i, or damaged")
    before = snapshot(run)
    code, _, err = pretrain(capsys, data, run, "--stop-at-step", "4")
    line = one_line_error(err)
    assert code == 2 and "none of the" in line and states[-1].name in line and "--restart" in line
    assert snapshot(run) == before  # log.jsonl, states, config: nothing truncated, deleted or written

    code, out, err = pretrain(capsys, data, run, "--stop-at-step", "2", "--restart")
    assert code == 0, err
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and f"moved the previous run to {aside[0]}" in out
    assert {k: v for k, v in snapshot(aside[0]).items() if k != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"
    }
    assert [json.loads(ln)["step"] for ln in (run / "log.jsonl").read_text().splitlines()] == [1, 2]


def test_an_unreadable_newest_checkpoint_is_kept_aside_not_overwritten_by_pruning(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture, one_thread: None
) -> None:
    run = tmp_path / "run"
    assert pretrain(capsys, data, run, "--stop-at-step", "3")[0] == 0
    newest = sorted((run / "checkpoints").glob("state-*.pt"))[-1]
    newest.write_bytes(b"cut short")
    assert pretrain(capsys, data, run, "--stop-at-step", "3")[0] == 0
    assert (newest.parent / (newest.name + ".unreadable")).read_bytes() == b"cut short"
    assert newest.is_file()  # rewritten by the resumed run, not deleted by keep_checkpoints


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from deepi2i.training.runfolder import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_run_on_the_same_folder_refuses_at_once_naming_the_holder(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        code, _, err = pretrain(capsys, data, run, "--stop-at-step", "1")
        line = one_line_error(err)
        assert code == 2 and f"in use by process {holder.pid}" in line and "choose another --out" in line
        assert time.monotonic() - started < 30
        assert not (run / "config.json").exists() and not (run / "log.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_dead_process_and_stale_temp_files_do_not_block_a_rerun(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture, one_thread: None
) -> None:
    run = tmp_path / "run"
    assert pretrain(capsys, data, run, "--stop-at-step", "1")[0] == 0
    (run / ".lock").write_text("999999999 on a host long gone\n")  # no process holds it
    stale = run / "checkpoints" / ".state-000000002.pt.k3j4h5g6.tmp"
    stale.write_bytes(b"half a checkpoint")
    code, _, err = pretrain(capsys, data, run, "--stop-at-step", "2")
    assert code == 0, err
    assert not stale.exists()


def test_resuming_on_other_data_is_refused_unless_allowed_and_then_recorded(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture, one_thread: None
) -> None:
    run = tmp_path / "run"
    other = Path(shutil.copytree(data, tmp_path / "other"))  # same class names, another folder
    assert pretrain(capsys, data, run, "--stop-at-step", "1")[0] == 0
    code, _, err = pretrain(capsys, other, run, "--stop-at-step", "2")
    line = one_line_error(err)
    assert code == 2 and f"trained on {data.resolve()}" in line and "--allow-new-data" in line
    code, _, err = pretrain(capsys, other, run, "--stop-at-step", "2", "--allow-new-data")
    assert code == 0, err
    info = json.loads((run / "config.json").read_text())
    assert info["data"] == str(other.resolve())
    assert info["data_history"] == [{"data": str(data.resolve()), "until_step": 1}]


def test_files_get_the_umask_permissions_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        os.umask(0o002)
        atomic_write_bytes(tmp_path / "b.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o664


# ---- 4. odd directory entries ------------------------------------------------------------------


def test_odd_directory_entries_are_skipped_with_their_reason(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    circle = data / "circle"
    (circle / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    (circle / "self.png").symlink_to(circle / "self.png")  # a link loop (ELOOP)
    (circle / "parent").symlink_to(data)  # a link to a parent folder
    bad_name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    shutil.copy(next(circle.glob("*.png")), os.path.join(os.fsencode(circle), b"caf\xe9.png"))
    os.mkfifo(circle / "pipe.png")  # opening it would block forever
    code, out, err = cli(capsys, "split", str(data), "--resplit")
    assert code == 0, err
    manifest = read_manifest(data / MANIFEST_NAME)
    reasons = {s["path"]: s["reason"] for s in manifest["skipped"]}
    assert reasons["circle/dangling.png"] == "broken symbolic link"
    assert reasons["circle/self.png"].startswith("unreadable (Too many levels of symbolic links")
    assert reasons["circle/parent/"] == "symbolic link to a folder already scanned (a loop)"
    assert reasons["circle/caf\\xe9.png"].startswith("file name is not valid UTF-8")
    assert reasons["circle/pipe.png"] == "not a regular file"
    assert manifest["counts"]["train"] + manifest["counts"]["test"] == 12  # every real image kept
    assert "skipped 5 files" in out and bad_name not in out
    assert cli(capsys, "split", str(data))[0] == 0  # and the manifest reloads as written


# ---- 5. hand-edited manifests --------------------------------------------------------------------


def _edit(name: str, m: dict) -> None:
    train, test = m["splits"]["train"], m["splits"]["test"]
    if name == "class_names contradict class_to_idx":
        m["class_names"] = m["class_names"][::-1]
    elif name == "label out of range":
        train[0][1] = 7
    elif name == "path outside the root":
        train[0][0] = "../../etc/passwd"
    elif name == "absolute path":
        train[0][0] = "/etc/passwd"
    elif name == "label of another class folder":
        train[0][1] = (train[0][1] + 1) % 3
    elif name == "test entry duplicated into train":
        train.append(list(test[0]))
    elif name in ("splits", "sizes"):
        del m[name]


EDITS = {
    "class_names contradict class_to_idx": "class_to_idx does not match class_names",
    "label out of range": "class index 7 is out of range",
    "path outside the root": "'../../etc/passwd' is not a plain path inside a class folder",
    "absolute path": "'/etc/passwd' is not a plain path inside a class folder",
    "label of another class folder": "but it sits in class folder",
    "test entry duplicated into train": "is listed in train and again in test",
    "splits": "'splits' is missing",
    "sizes": "'sizes' is missing",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_hand_edited_manifests_are_refused_by_split_and_before_any_run_folder_exists(
    edit: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli(capsys, "split", str(data))[0] == 0
    path = data / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    _edit(edit, manifest)
    path.write_text(json.dumps(manifest))
    code, _, err = cli(capsys, "split", str(data))
    line = one_line_error(err)
    assert code == 2 and EDITS[edit] in line and "--resplit" in line
    code, _, err = pretrain(capsys, data, tmp_path / "run")
    assert code == 2 and EDITS[edit] in one_line_error(err)
    assert not (tmp_path / "run").exists()


def test_a_manifest_that_is_a_folder_and_the_changed_dataset_hint(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "m.json").mkdir()
    code, _, err = cli(capsys, "split", str(data), "--manifest", str(tmp_path / "m.json"))
    assert code == 2 and "is not a file" in one_line_error(err)
    assert cli(capsys, "split", str(data))[0] == 0
    (data / "circle" / "extra.png").write_bytes((data / "square").glob("*.png").__next__().read_bytes())
    code, _, err = pretrain(capsys, data, tmp_path / "run")
    assert code == 2 and f"`deepi2i split {data} --resplit`" in one_line_error(err)


# ---- 6. overwrites -------------------------------------------------------------------------------


def test_import_biggan_never_replaces_another_export_without_overwrite(
    own_export: Path, biggan_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = snapshot(own_export)
    code, _, err = cli(capsys, "import-biggan", str(biggan_dir), str(own_export))
    assert code == 2 and "already holds a different export" in one_line_error(err) and "--overwrite" in err
    assert snapshot(own_export) == before
    fresh = tmp_path / "imported"
    assert cli(capsys, "import-biggan", str(biggan_dir), str(fresh))[0] == 0
    assert cli(capsys, "import-biggan", str(biggan_dir), str(fresh))[0] == 0  # the same export again: fine
    assert cli(capsys, "import-biggan", str(biggan_dir), str(own_export), "--overwrite")[0] == 0
    assert sorted(snapshot(own_export)) == sorted(snapshot(fresh))  # the DeepI2I's other weights are gone
    assert (own_export / "config.json").read_bytes() == (fresh / "config.json").read_bytes()
    assert load_file(own_export / "generator.safetensors").keys() == load_file(fresh / "generator.safetensors").keys()


def test_translate_replaces_planted_symlinks_and_refuses_its_input_folder_or_a_file(
    export: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs = data / "circle"
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    first = sorted(inputs.glob("*.png"))[0]
    planted = out / f"{first.stem}__to_square__s0.png"
    planted.symlink_to(victim)
    (out / "translations.csv").symlink_to(victim)
    common = ["--model", str(export), "--to", "square", "--device", "cpu", "--quiet"]
    code, _, err = cli(capsys, "translate", str(inputs), "--out", str(out), *common)
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert not planted.is_symlink() and Image.open(planted).size == (32, 32)

    n_inputs = len(list(inputs.iterdir()))
    code, _, err = cli(capsys, "translate", str(inputs), "--out", str(inputs), *common)
    assert code == 2 and "is inside the input folder" in one_line_error(err)
    code, _, err = cli(capsys, "translate", str(data), "--out", str(inputs / "sub"), *common)
    assert code == 2 and "is inside the input folder" in one_line_error(err)
    assert len(list(inputs.iterdir())) == n_inputs
    code, _, err = cli(capsys, "translate", str(first), "--out", str(victim), *common)
    assert code == 2 and "is a file, not a folder" in one_line_error(err)


def test_evaluate_refuses_an_out_that_is_a_file_or_holds_another_report(
    export: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from deepi2i.metrics.protocol import REPORT_FORMAT
    from deepi2i.metrics.report import check_report_target

    common = ["--model", str(export), "--data", str(data), "--metrics", "rc", "--device", "cpu", "--quiet"]
    (tmp_path / "file").write_text("x")
    code, _, err = cli(capsys, "evaluate", *common, "--out", str(tmp_path / "file"))
    assert code == 2 and "is a file, not a folder" in one_line_error(err)
    reports = tmp_path / "reports"
    reports.mkdir()
    other = {"format": REPORT_FORMAT, "model": {"path": "/elsewhere"}, "data": {"root": str(data)}, "config": {}}
    (reports / "report.json").write_text(json.dumps(other))
    code, _, err = cli(capsys, "evaluate", *common, "--out", str(reports))
    assert code == 2 and "already holds a report of another evaluation" in one_line_error(err) and "--overwrite" in err
    assert json.loads((reports / "report.json").read_text()) == other
    same = {"model": "/elsewhere", "data": str(data), "config": {}}
    assert check_report_target(reports, same, overwrite=False) == reports  # rerunning the same evaluation
    assert check_report_target(reports, {**same, "model": "/x"}, overwrite=True) == reports
    with pytest.raises(OutputExistsError):
        check_report_target(reports, {**same, "model": "/x"}, overwrite=False)


# ---- 7. silent wrong results ------------------------------------------------------------------


def test_an_export_with_nan_weights_is_refused_and_nan_outputs_are_errors(
    own_export: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = own_export / "generator.safetensors"
    state = load_file(path)
    key = sorted(k for k, v in state.items() if v.is_floating_point())[0]
    state[key][0] = float("nan")
    save_file(state, path)
    code, _, err = cli(
        capsys,
        "translate",
        str(data / "circle"),
        "--out",
        str(tmp_path / "o"),
        "--model",
        str(own_export),
        "--to",
        "all",
        "--device",
        "cpu",
    )
    line = one_line_error(err)
    assert code == 2 and "generator.safetensors holds NaN or infinite values in" in line and key in line
    assert not (tmp_path / "o").exists()

    translator = Translator(DeepI2I(tiny(resolution=32, ch=4, n_classes=3)), device="cpu")
    # the Translator runs the encoder once per input, then the generator: make the generator emit NaN
    monkeypatch.setattr(
        translator.model.generator, "forward", lambda z, y=None, **_: torch.full((len(z), 3, 32, 32), float("nan"))
    )
    with pytest.raises(ValueError, match="NaN or infinite pixels"):
        translator(torch.zeros(3, 32, 32), to=0, seed=0)


# ---- 8. tracebacks instead of messages --------------------------------------------------------------


CONFIG_EDITS = {
    "ch is a string": (lambda c: c["generator"].update(ch="8"), "GeneratorConfig.ch must be an integer, got '8'"),
    "ch is 4.5": (lambda c: c["discriminator"].update(ch=4.5), "DiscriminatorConfig.ch must be an integer, got 4.5"),
    "negative dim_z": (lambda c: c["generator"].update(dim_z=-20), "dim_z must be at least"),
    "zero classes": (lambda c: c["encoder"].update(n_classes=0), "n_classes=0 must be >= 1"),
    "config is a list": (lambda c: c.clear(), None),
}


@pytest.mark.parametrize("edit", list(CONFIG_EDITS))
def test_tampered_export_configs_name_the_file_and_the_field(
    edit: str, own_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    meta = json.loads((own_export / "config.json").read_text())
    change, expected = CONFIG_EDITS[edit]
    change(meta["config"])
    if expected is None:
        meta["config"], expected = [1, 2], "holds an invalid DeepI2I config"
    (own_export / "config.json").write_text(json.dumps(meta))
    code, _, err = cli(capsys, "classes", "--model", str(own_export))
    line = one_line_error(err)
    assert code == 2 and str(own_export / "config.json") in line and expected in line


@pytest.mark.parametrize("damage", ["invalid JSON", "zero-byte safetensors", "truncated safetensors"])
def test_damaged_export_files_are_named(
    damage: str, own_export: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if damage == "invalid JSON":
        target = own_export / "config.json"
        target.write_text('{"format": "deepi2i-export", ')
        expected = "is not valid JSON"
    else:
        target = own_export / "encoder.safetensors"
        whole = target.read_bytes()
        target.write_bytes(b"" if damage.startswith("zero") else whole[: len(whole) // 2])
        expected = "is not a readable safetensors file"
    code, _, err = cli(
        capsys,
        "translate",
        str(data / "circle"),
        "--out",
        str(tmp_path / "o"),
        "--model",
        str(own_export),
        "--to",
        "all",
        "--device",
        "cpu",
    )
    line = one_line_error(err)
    assert code == 2 and str(target) in line and expected in line


def test_truncation_nan_is_refused(export: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = cli(
        capsys,
        "translate",
        str(data / "circle"),
        "--out",
        str(tmp_path / "o"),
        "--model",
        str(export),
        "--to",
        "all",
        "--device",
        "cpu",
        "--truncation",
        "nan",
    )
    assert code == 2 and "truncation must be > 0 (a finite number), got nan" in one_line_error(err)
    from deepi2i.metrics import EvalConfig

    with pytest.raises(ValueError, match="truncation must be > 0"):
        EvalConfig(truncation=float("nan"))


def test_a_poisoned_feature_cache_names_its_file(tmp_path: Path) -> None:
    from deepi2i.metrics import real_reference
    from deepi2i.metrics.fid import reference_key

    identity = {"split": "train", "what": "test"}
    cache = tmp_path / "cache"
    cache.mkdir()
    poisoned = cache / f"real-train-{reference_key(identity)}.npz"
    np.savez(poisoned, features=np.array([object()], dtype=object), labels=np.zeros(1))
    with pytest.raises(ValueError, match=f"evaluation cache file {poisoned} is damaged.*delete it"):
        real_reference(lambda: [], lambda x: x, identity, cache, 0, progress=False)
    poisoned.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="is damaged"):
        real_reference(lambda: [], lambda x: x, identity, cache, 0, progress=False)
