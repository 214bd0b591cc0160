"""report.json / report.md of one evaluation, and side-by-side tables of several (Table 1 layout).

Numbers are only comparable under the same protocol, so the comparison lists every protocol
field in which the reports differ (data, extractor and its weights, classifier, counts, seed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepi2i._io import OutputExistsError, StrPath, atomic_write_bytes, check_output_folder
from deepi2i.metrics.results import REPORT_FORMAT

# (summary key, Table-1 header): the paper's four columns first, then ours.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("RC", "RC↑"),
    ("FC", "FC↑"),
    ("mKIDx100", "mKID×100↓"),
    ("mFID", "mFID↓"),
    ("LPIPS", "LPIPS↑"),
    ("IoU", "IoU↑"),
    ("center_error_px", "centre err px↓"),
    ("fg_color_error", "fg colour err↓"),
    ("bg_color_error", "bg colour err↓"),
)
CLASS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fid", "FID↓"),
    ("kid_x100", "KID×100↓"),
    ("rc", "RC↑"),
    ("fc", "FC↑"),
    ("lpips", "LPIPS↑"),
    ("pose.iou", "IoU↑"),
    ("pose.center_error_px", "centre err px↓"),
    ("pose.fg_color_error", "fg colour err↓"),
    ("pose.bg_color_error", "bg colour err↓"),
)
# (label, path into the report): protocol fields that must agree for numbers to be comparable.
COMPARE_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("data (manifest SHA-256)", ("data", "manifest_sha256")),
    ("resolution", ("protocol", "resolution")),
    ("translations per class", ("protocol", "per_class")),
    ("seed", ("protocol", "seed")),
    ("truncation", ("protocol", "truncation")),
    ("same-class inputs", ("protocol", "inputs", "include_same_class")),
    ("input assignment", ("protocol", "inputs", "assignment")),
    ("real reference split", ("protocol", "real_reference", "split")),
    ("feature extractor", ("protocol", "extractor", "name")),
    ("extractor weights SHA-256", ("protocol", "extractor", "weights_sha256")),
    ("KID subsets", ("protocol", "kid", "subsets")),
    ("KID subset size", ("protocol", "kid", "subset_size")),
    ("RC classifier SHA-256", ("protocol", "classifier", "rc_classifier_sha256")),
    ("classifier backbone", ("protocol", "classifier", "backbone")),
    ("classifier epochs", ("protocol", "classifier", "epochs")),
    ("FC training images per class", ("protocol", "classifier", "fc_train_per_class")),
    ("LPIPS trunk SHA-256", ("protocol", "lpips", "trunk_sha256")),
    ("LPIPS inputs per class", ("protocol", "lpips", "inputs_per_class")),
    ("LPIPS samples", ("protocol", "lpips", "samples")),
)


def json_safe(value: Any) -> Any:
    """NaN / inf -> None (strict JSON), recursively; tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def fmt(value: Any) -> str:
    """Three significant digits like the paper (49.5, 9.61, 146.3); '–' for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    v = float(value)
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _get(d: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    align = ["---"] * left + ["---:"] * (len(header) - left)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _columns(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(k, h) for k, h in COLUMNS if any(s.get(k) is not None for s in summaries)]


def summary_table(reports: Sequence[dict[str, Any]], labels: Sequence[str] | None = None) -> list[str]:
    """The Table-1 block: one row per report, columns for every metric any of them has."""
    labels = list(labels) if labels is not None else [r.get("name", f"model {i}") for i, r in enumerate(reports)]
    cols = _columns([r["summary"] for r in reports])
    rows = [[label] + [fmt(r["summary"].get(k)) for k, _ in cols] for label, r in zip(labels, reports, strict=True)]
    return _table(["Method"] + [h for _, h in cols], rows)


def _weakest(recall: dict[str, float | None] | None, below: float = 95.0) -> str:
    """', lowest: pentagon 80.0%, square 78.0%' for the classes the RC judge itself recognises < `below`% of."""
    weak = sorted((v, k) for k, v in (recall or {}).items() if v is not None and v < below)
    return "" if not weak else ", lowest: " + ", ".join(f"{k} {v:.1f}%" for v, k in weak)


def _weights(used: dict[str, float] | None, asked: object) -> str:
    """', w_l 1.3 / 1 / 0.3 / 0.1 at 4 / 8 / 16 / 32 px (set for this evaluation)' for a DeepI2I's report."""
    if not used:
        return ""
    levels = sorted(used, key=int)
    text = f", w_l {' / '.join(f'{used[r]:g}' for r in levels)} at {' / '.join(levels)} px"
    return text + (" (set for this evaluation)" if asked is not None else "")


def _protocol_lines(r: dict[str, Any]) -> list[str]:
    p = r["protocol"]
    lines = [
        f"- model: `{r['model']['path']}` ({r['model']['resolution']} px, {r['model']['classes']} classes"
        + _weights(r["model"].get("adaptor_weights"), r["config"].get("adaptor_weights"))
        + ")",
        f"- data: `{r['data']['root']}` (manifest SHA-256 `{r['data']['manifest_sha256'][:16]}`)",
        (
            f"- inputs: none (a BigGAN export): {p['per_class']} samples G(z, c) per class"
            if p["inputs"]["split"] is None
            else f"- inputs: the {p['inputs']['count']} test-split images"
            + ("" if p["inputs"]["include_same_class"] else ", excluding those of the target class")
            + f"; {p['per_class']} translations per target class"
        )
        + f"; seed {p['seed']}, truncation {p['truncation']}",
    ]
    if p.get("extractor"):
        e, ref = p["extractor"], p["real_reference"]
        weights = (e.get("weights_sha256") or "none")[:16]
        lines.append(
            f"- FID/KID features: `{e['name']}` ({e['dim']}-d, weights SHA-256 `{weights}`) "
            f"against the real **{ref['split']}** images of each class ({ref['images']} in all)"
        )
    if p.get("kid"):
        k = p["kid"]
        lines.append(
            f"- KID: {k['subsets']} subsets of {k['subset_size']} (smallest used {k['subset_size_used_min']}), "
            f"{k['kernel']}, {k['estimator']}, reported ×100"
        )
    if p.get("classifier"):
        c = p["classifier"]
        init = c.get("init_weights") or "random init"
        rc_sha = (c.get("rc_classifier_sha256") or "–")[:16]
        lines.append(
            f"- classifier: {c['backbone']} + FC ({init}), {c['epochs']} epochs, batch {c['batch_size']}, "
            f"lr {c['lr']}; RC classifier `{rc_sha}` scores {fmt(c.get('rc_real_test_accuracy'))}% "
            f"on the real test split{_weakest(c.get('rc_real_test_recall'))}; "
            f"FC trained on {c.get('fc_train_per_class') or '–'} translations per class"
        )
    if p.get("lpips"):
        lp = p["lpips"]
        lines.append(
            f"- LPIPS: {lp['net']} v{lp['version']} (trunk `{lp['trunk_sha256'][:16]}`), mean over "
            f"{lp['pairs_per_input']} pairs of {lp['samples']} samples for {lp['inputs_per_class']} inputs per class"
        )
    if p.get("pose"):
        lines.append(f"- pose: {p['pose']['segmentation']}; {p['pose']['units']}")
    v = r["versions"]
    lines.append(
        f"- versions: deepi2i {v.get('deepi2i')}, torch {v.get('torch')}, torchvision {v.get('torchvision')}, "
        f"torch-fidelity {v.get('torch-fidelity')}, lpips {v.get('lpips')}; device {r['environment']['device']}, "
        f"{r['environment']['elapsed_s']} s"
    )
    return lines + [f"- warning: {w}" for w in r.get("warnings", [])]


def markdown_report(report: dict[str, Any]) -> str:
    """report.md: the Table-1 row, the protocol in words, and every class."""
    lines = [
        f"# Evaluation: {report['name']}",
        "",
        *summary_table([report]),
        "",
        "## Protocol",
        "",
        *_protocol_lines(report),
    ]
    rows = report["per_class"]
    cols = [(k, h) for k, h in CLASS_COLUMNS if any(_get(r, k.split(".")) is not None for r in rows)]
    misses = any(r.get("rc_labels") for r in rows)
    lines += ["", "## Per class", ""]
    lines += _table(
        ["class"] + [h for _, h in cols] + (["RC misses went to"] if misses else []),
        [
            [r["name"]] + [fmt(_get(r, k.split("."))) for k, _ in cols] + ([_rc_misses(r, rows)] if misses else [])
            for r in rows
        ],
    )
    return "\n".join(lines) + "\n"


def _rc_misses(row: dict[str, Any], rows: Sequence[dict[str, Any]], top: int = 2) -> str:
    """The classes the RC classifier most often gave a class's translations instead of it: 'circle 12%'."""
    labels = row.get("rc_labels")
    if not labels:
        return "–"
    total = sum(labels)
    wrong = sorted(((n, i) for i, n in enumerate(labels) if i != row["index"] and n), reverse=True)[:top]
    return ", ".join(f"{rows[i]['name']} {_percent(100 * n / total)}" for n, i in wrong) or "none"


def _percent(value: float) -> str:
    """'12%', or '<1%' for a share under one percent (not a misleading 0%)."""
    return f"{value:.0f}%" if value >= 1 else "<1%"


def check_report_target(out_dir: StrPath, identity: dict[str, Any], overwrite: bool) -> Path:
    """Refuse, before any work, an OUT that is a file or that holds a report of another evaluation
    (`identity`: model, data and config, as `evaluate` records them), unless `overwrite`."""
    out = check_output_folder(out_dir)
    path = out / "report.json"
    if overwrite or not path.exists():
        return out
    try:
        old = load_report(path)
        same = {"model": old["model"]["path"], "data": old["data"]["root"], "config": old["config"]} == json.loads(
            json.dumps(json_safe(identity))
        )
    except (OSError, ValueError, KeyError, TypeError):
        same = False
    if not same:
        raise OutputExistsError(
            f"{out} already holds a report of another evaluation (model, data or settings differ); "
            "pass --overwrite to replace it, or choose another --out"
        )
    return out


def write_report(report: dict[str, Any], out_dir: StrPath) -> tuple[Path, Path]:
    """Write OUT/report.json (strict JSON: NaN as null) and OUT/report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean = json_safe(report)
    js, md = out / "report.json", out / "report.md"
    atomic_write_bytes(js, (json.dumps(clean, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    atomic_write_bytes(md, markdown_report(clean).encode("utf-8"))
    return js, md


def load_report(path: StrPath) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    if not p.is_file():
        raise FileNotFoundError(f"report {p} not found")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{p} is not valid JSON ({err}); it is not a report written by `deepi2i evaluate`") from err
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise ValueError(f"{p} is not a report written by `deepi2i evaluate`")
    return data


def protocol_differences(reports: Sequence[dict[str, Any]]) -> list[str]:
    """One line per protocol field whose value is not the same in every report."""
    out = []
    for label, path in COMPARE_FIELDS:
        values = [_get(r, path) for r in reports]
        if any(v != values[0] for v in values[1:]):
            shown = ", ".join(str(v)[:16] if isinstance(v, str) else str(v) for v in values)
            out.append(f"{label}: {shown}")
    return out


def compare_reports(paths: Sequence[StrPath], labels: Sequence[str] | None = None) -> str:
    """Markdown with several reports side by side, and the protocol differences that make numbers
    not directly comparable (none listed: same data, extractor, classifier and counts)."""
    if not paths:
        raise ValueError("no reports to compare")
    reports = [load_report(p) for p in paths]
    if labels is not None and len(labels) != len(reports):
        raise ValueError(f"{len(labels)} labels for {len(reports)} reports")
    lines = ["# Evaluation comparison", "", *summary_table(reports, labels), ""]
    diffs = protocol_differences(reports)
    if diffs:
        lines += ["**Not directly comparable**: the protocols differ in", ""] + [f"- {d}" for d in diffs]
    else:
        lines.append("Same protocol for every row (data, extractor and weights, classifiers, counts, seed).")
    first = reports[0]
    lines += ["", "## Protocol (first row)", "", *_protocol_lines(first)[1:]]
    return "\n".join(lines) + "\n"


def write_comparison(
    paths: Sequence[StrPath], out: StrPath, labels: Sequence[str] | None = None, overwrite: bool = False
) -> Path:
    """Write the side-by-side table to `out` (atomically; an existing different file needs `overwrite`)."""
    out = Path(out)
    text = compare_reports(paths, labels)
    if out.is_dir():
        raise IsADirectoryError(f"--out {out} is a folder; give a file name such as table.md")
    if out.exists() and not overwrite and out.read_text(encoding="utf-8", errors="replace") != text:
        raise OutputExistsError(f"{out} already exists with other content; pass --overwrite to replace it")
    atomic_write_bytes(out, text.encode("utf-8"))
    return out
