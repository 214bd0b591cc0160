"""The paper's claims on the Shapes benchmark, from nothing: data, source BigGAN, every variant
(with several seeds), evaluation against baselines, and the tables of docs/results/shapes.md.

    python benchmarks/shapes_claims.py WORK [--quick] [--seeds 0,1] [--only deepi2i,scratch]
                                            [--stages data,source,train,eval,extra,report]
  python benchmarks/shapes_claims.py WORK --seeds 0 --stages data,source,recipe,report  # the recipe search
  python benchmarks/shapes_claims.py WORK --source shapes-source --stages data,calibrate   # the shipped w_l
  python benchmarks/shapes_claims.py WORK --source shapes-source --stages calibrate --calibrate EXPORT  # a candidate's

Every stage is resumable: rerunning the same command skips finished runs and evaluations and
resumes an interrupted training run from its newest checkpoint. `--quick` shrinks every length
for a smoke run of the whole pipeline in minutes (its numbers mean nothing). Runs go one at a
time with torch's default threads; set OMP_NUM_THREADS to share the machine.

Data (all rendered by `deepi2i shapes`, seeded):
  src       source domain, 26 classes x 400 (the "ImageNet"), seed 0
  trg       target domain, 10 classes x 50: the training set (45 train / 5 test per class), seed 0
  trg500    the same target at 500 per class (its first 50 per class are trg's images), seed 0
  trg-val   300 per class, seed 1: every choice of the recipe was made on this split
  trg-eval  500 per class, seed 2: the reported numbers (RC classifier and real features from its
            450 train images per class, inputs its 50 unseen test images per class)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

DEEPI2I = [sys.executable, "-m", "deepi2i"]


@dataclass(frozen=True)
class Variant:
    """One row of a claims table: `deepi2i train` arguments on a training set, same compute for all."""

    slug: str  # the run's folder name
    name: str
    claim: str
    args: tuple[str, ...] = ()
    data: str = "trg"
    scratch: bool = False
    curve: tuple[float, ...] = ()  # shorter lengths (kimg) on the way, also scored: mFID against kimg (Fig. 2b)


# every variant's length: 1,500 steps of 32, no EMA (the shapes64 preset's recipe when the claims began; the
# preset has since become 144 kimg with an EMA of G, the recipe search's choice)
CLAIMS_KIMG = 48.0
CURVE = (12.0, 24.0, 36.0)  # claim 1's curves: the run is scored at these lengths too (same training, paused)

# Same length for every variant; the recipe is the shapes64 preset's other defaults.
VARIANTS: tuple[Variant, ...] = (
    Variant("deepi2i", "DeepI2I", "1,2,3,4", curve=CURVE),
    Variant(
        "paper-weights",
        "DeepI2I with the paper's weights (w_l 0.1, λ_rec 1, α_32 0.01)",
        "recipe",
        ("--adaptor-weights", "0.1", "--lambda-rec", "1", "--rec-weights", "4:0.1,8:0.1,16:0.1,32:0.01"),
    ),
    Variant("scratch", "DeepI2I (scratch)", "1,2", scratch=True, curve=CURVE),
    Variant("deepi2i-500", "DeepI2I, 500/class", "1", data="trg500", curve=CURVE),
    Variant("scratch-500", "DeepI2I (scratch), 500/class", "1", data="trg500", scratch=True, curve=CURVE),
    Variant("init-gd", "transfer G+D (encoder from scratch)", "2", ("--init-from-source", "generator,discriminator")),
    Variant("init-ed", "transfer E+D (generator from scratch)", "2", ("--init-from-source", "encoder,discriminator")),
    Variant("init-eg", "transfer E+G (discriminator from scratch)", "2", ("--init-from-source", "encoder,generator")),
    Variant("no-adaptors", "†DeepI2I (no adaptors)", "3", ("--no-adaptors",)),
    Variant(
        "only-32", "adaptor at 32 px only (w-3; also: only the highest-resolution level)", "3,4", ("--levels", "32")
    ),
    Variant("only-16", "adaptor at 16 px only", "3", ("--levels", "16")),
    Variant("only-8", "adaptor at 8 px only", "3", ("--levels", "8")),
    Variant("only-4", "adaptor at 4 px only", "3", ("--levels", "4")),
    Variant("levels-32-16", "levels 32+16 (two downsamplings)", "4", ("--levels", "32,16")),
)


@dataclass(frozen=True)
class Candidate:
    """A recipe candidate: `deepi2i train` arguments over the preset's, scored on trg-val after each
    length in `kimg` (the run is lengthened in place: a 96 kimg score continues the 48 kimg run)."""

    slug: str
    name: str
    args: tuple[str, ...] = ()
    kimg: tuple[float, ...] = (48.0,)
    # with --ema-decay: also score the trained generator itself (the same run without EMA, which does
    # not change training) as the candidate `raw` = (slug, name)
    raw: tuple[str, str] | None = None
    data: str = "trg"  # the target set it trains on (scored on trg-val either way)


# The recipe search (seed 0, trg-val). The rule that picks the winner was fixed before any validation
# number was seen: the least summed miss of the two goals (`miss`); the mFID goal is reported beside it.
# Added before any 144 kimg or longer colour-term number was seen: among candidates within MISS_TIE of
# the least miss, the lower foreground colour error wins (the issue also asks that colours be kept).
MISS_TIE = 0.05
# the shipped recipe's additions to the preset (palette colour term, EMA of G), which later candidates extend
PALETTE_EMA = ("--lambda-color", "5", "--color-term", "palette", "--ema-decay", "0.999")
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("w1-rec10", "w_l 1 everywhere, λ_rec 10", ("--adaptor-weights", "1", "--lambda-rec", "10")),
    Candidate(
        "ema",
        "the preset + EMA of G (decay 0.999)",
        ("--ema-decay", "0.999"),
        (48.0, 96.0, 144.0),
        raw=("base", "the shapes64 preset (w_l 1/1/0.3/0.1 at 4/8/16/32 px, λ_rec 1)"),
    ),
    Candidate(
        "color-ema",
        "the preset + our colour term (λ_color 1, 4×4 cells) + EMA of G (decay 0.999)",
        ("--lambda-color", "1", "--color-grid", "4", "--ema-decay", "0.999"),
        (48.0,),
        raw=("color", "the preset + our colour term (λ_color 1, 4×4 cells)"),
    ),
    Candidate("color5", "the preset + our colour term (λ_color 5, 4×4 cells)", ("--lambda-color", "5"), (48.0, 96.0)),
    # Added after color5 kept colours but lost class identity (RC 57-59): the cells pin the layout too.
    Candidate(
        "palette-ema",
        "the preset + our palette term (λ_color 5) + EMA of G (decay 0.999)",
        PALETTE_EMA,
        # 192 and 240 added after 144 kimg scored RC 77.5 on trg-val (still rising from 74.2 at 96),
        # before any longer number was seen: does more training close the gap to RC 90?
        (48.0, 96.0, 144.0, 192.0, 240.0),
        raw=("palette", "the preset + our palette term (λ_color 5)"),
    ),
    # Added in the seventh session, after re-weighting the shipped model's adaptors at translation time
    # on trg-val (w 1.3 at 4 px and 0.5 at 8 px: RC 77.5 -> 83.6, centre error 2.67 -> 2.80 px): does
    # training with those weights keep the gain, or does the generator learn the outline back?
    Candidate(
        "palette-ema-w",
        "palette-ema trained with w_l 1.3/0.5/0.3/0.1 at 4/8/16/32 px",
        PALETTE_EMA + ("--adaptor-weights", "4:1.3,8:0.5,16:0.3,32:0.1"),
        (48.0, 96.0, 144.0),
        raw=("palette-w", "the preset + our palette term (λ_color 5), w_l 1.3/0.5/0.3/0.1"),
    ),
    # Added in the seventh session after the shipped model's discriminator named the class of its own
    # training images 99% of the time and of unseen trg-val images 66.5%: D memorises 45 images per
    # class. DiffAugment (translation + cutout) on D's adversarial inputs is the small-data remedy.
    Candidate(
        "palette-ema-aug",
        "palette-ema + DiffAugment (translation, cutout) on D's inputs",
        PALETTE_EMA + ("--augment", "translation,cutout"),
        (48.0, 96.0, 144.0),
        raw=("palette-aug", "the preset + our palette term (λ_color 5) + DiffAugment"),
    ),
    # Added in the eleventh session, before any number of it was seen, after claim 3's adaptor at 4 px alone
    # (test split, 48 kimg, seed 0) kept the input (3.6 px) and scored RC 77.5 where the full hierarchy
    # scored 67.0: do the 16 and 32 px levels, which carry the input's outline, hold the class back? The
    # palette term keeps the colours those levels would have carried; 8 px stays for the pose.
    Candidate(
        "palette-ema-l48",
        "palette-ema with only the 4 and 8 px levels connected (w_l 1 each)",
        PALETTE_EMA + ("--levels", "8,4"),
        (48.0, 96.0, 144.0),
        raw=("palette-l48", "the preset + our palette term (λ_color 5), only the 4 and 8 px levels"),
    ),
    # Added in the twelfth session, before any number of them was seen: palette-ema-l48 kept the 8 px level,
    # which alone ignores the input (claim 3); the adaptor at 4 px alone kept it (3.0-3.6 px) with RC 81.5 ± 4.0
    # over two seeds at 48 kimg on the test split. Does it hold at the recipe's length, with and without the
    # palette term (the recipe without a colour term scored higher RC on trg-val from the old source)?
    Candidate(
        "palette-ema-l4",
        "palette-ema with only the 4 px level connected (w_l 1)",
        PALETTE_EMA + ("--levels", "4"),
        (48.0, 96.0, 144.0),
        raw=("palette-l4", "the preset + our palette term (λ_color 5), only the 4 px level"),
    ),
    Candidate(
        "ema-l4",
        "the preset + EMA of G (decay 0.999), only the 4 px level connected (w_l 1)",
        ("--ema-decay", "0.999", "--levels", "4"),
        (48.0, 96.0, 144.0),
        raw=("l4", "the preset with only the 4 px level connected (claim 3's only-4, trained longer)"),
    ),
    # Added in the twelfth session, before any number of it was seen: the shipped recipe on ten times the images
    # per class (trg500), scored on the same trg-val inputs. Its discriminator knew unseen images far better at
    # 48 kimg (89% vs 79.5%) but the run was slower there; at the recipe's length, is 45 per class what holds
    # RC under 90? A diagnostic, not a candidate for the 45-per-class target: `choose` never sees it.
    Candidate(
        "palette-ema-500",
        "palette-ema on 450 images per class (trg500)",
        PALETTE_EMA,
        (48.0, 96.0, 144.0),
        raw=("palette-500", "the preset + our palette term (λ_color 5), on 450 images per class"),
        data="trg500",
    ),
    # Added in the thirteenth session, before any number of it was seen. The reconstruction term (Eq. 3) matches
    # D's features of each translation to its input's at every level; D's 4 px features feed its class projection,
    # so there the term pulls a translation back to the input's class ("Why the paper's weights lose the pose").
    # Pose lives at 8-32 px and in the adaptors: does dropping α_4 free class identity without losing the input?
    Candidate(
        "palette-ema-norec4",
        "palette-ema without the reconstruction term at 4 px (α 0 / 0.1 / 0.1 / 0.01 at 4 / 8 / 16 / 32 px)",
        PALETTE_EMA + ("--rec-weights", "4:0,8:0.1,16:0.1,32:0.01"),
        (48.0, 96.0, 144.0),
        raw=("palette-norec4", "the preset + our palette term (λ_color 5), α_4 0"),
    ),
    # Added in the thirteenth session, before any number of them was seen, after palette-ema-500 (ten times the
    # images per class) scored RC 84.6 raw at 96 kimg on trg-val against 66.6 on 45 per class: the discriminator's
    # memory of 45 images per class holds RC down. Each Shapes image has its own colours, which a discriminator can
    # memorise as easily as shapes; DiffAugment's colour transform hides them, and since Shapes are posed at any
    # angle and every class is mirror-symmetric, ADA's flips and quarter turns give D new images of the same class.
    # (That premise was wrong: poses turn by at most ±45°, and augr lost arrows and triangles; see shapes.md.)
    Candidate(
        "palette-ema-augc",
        "palette-ema + DiffAugment (color, translation, cutout) on D's inputs",
        PALETTE_EMA + ("--augment", "color,translation,cutout"),
        (48.0, 96.0, 144.0),
        raw=("palette-augc", "the preset + our palette term (λ_color 5) + DiffAugment with colour"),
    ),
    Candidate(
        "palette-ema-augr",
        "palette-ema + DiffAugment (color, translation, cutout) + flips and quarter turns on D's inputs",
        PALETTE_EMA + ("--augment", "color,flip,rotate90,translation,cutout"),
        (48.0, 96.0, 144.0),
        raw=("palette-augr", "the preset + our palette term (λ_color 5) + DiffAugment with colour, flips, turns"),
    ),
    # Added in the fourteenth session, before any number of them was seen. With 450 images per class D knows the
    # classes of unseen images and takes 89% of the translations for their target, yet the judge still misses
    # pentagons and squares: is the 64 px, ch 8 generator too narrow to draw corners? Claim 2 found a generator
    # trained from scratch as good as a transferred one, so a wider generator needs no wider source: the encoder
    # and D come from the source, G starts from random weights at twice the width (g16), or at the source's width
    # (g8: the control that separates "not transferred" from "wider").
    Candidate(
        "palette-ema-g16",
        "palette-ema with a generator trained from scratch at ch 16 (encoder and D from the source)",
        PALETTE_EMA + ("--init-from-source", "encoder,discriminator", "--ch", "16"),
        (48.0, 96.0, 144.0),
        raw=("palette-g16", "the preset + our palette term (λ_color 5), generator from scratch at ch 16"),
    ),
    Candidate(
        "palette-ema-g8",
        "palette-ema with a generator trained from scratch at ch 8 (encoder and D from the source)",
        PALETTE_EMA + ("--init-from-source", "encoder,discriminator"),
        (48.0, 96.0, 144.0),
        raw=("palette-g8", "the preset + our palette term (λ_color 5), generator from scratch at ch 8"),
    ),
    # Added in the fifteenth session, before any number of it was seen. g16 drew the classes best (RC 85.8 on
    # trg-val) but let the pose go (3.59 px). Translated with twice the preset's w_l at 16 and 32 px, the same
    # g16 networks kept the pose better (3.28 px) but lost class identity (RC 72.2): the finer levels carry the
    # pose. Trained with those weights, can the generator learn the class back while the pose stays?
    Candidate(
        "palette-ema-g16-w2",
        "palette-ema-g16 trained with w_l 1/1/0.6/0.2 at 4/8/16/32 px (twice the preset's at 16 and 32)",
        PALETTE_EMA
        + ("--init-from-source", "encoder,discriminator", "--ch", "16", "--adaptor-weights", "4:1,8:1,16:0.6,32:0.2"),
        (48.0, 96.0, 144.0),
        raw=("palette-g16-w2", "the preset + our palette term (λ_color 5), ch 16 G from scratch, w_l 1/1/0.6/0.2"),
    ),
    # Added in the eighteenth session, before any number of it was seen. D memorises 45 images per class (seventh
    # session) and augmenting its inputs did not stop that. FreezeD (Mo et al. 2020), the small-data remedy for GAN
    # transfer: D's lowest blocks keep the source's weights, so only its upper blocks and head adapt. Blocks 0-2
    # (outputs at 32, 16, 8 px) hold 6% of D's weights, blocks 0-3 (to 4 px) 25%: how much of D must stay the source's?
    Candidate(
        "palette-ema-freezed3",
        "palette-ema with D's three lowest blocks (to 8 px) kept at the source's weights (FreezeD)",
        PALETTE_EMA + ("--freeze-d-blocks", "3"),
        (48.0, 96.0, 144.0),
        raw=("palette-freezed3", "the preset + our palette term (λ_color 5), FreezeD on 3 blocks"),
    ),
    Candidate(
        "palette-ema-freezed4",
        "palette-ema with D's four lowest blocks (to 4 px) kept at the source's weights (FreezeD)",
        PALETTE_EMA + ("--freeze-d-blocks", "4"),
        (48.0, 96.0, 144.0),
        raw=("palette-freezed4", "the preset + our palette term (λ_color 5), FreezeD on 4 blocks"),
    ),
    # Added in the eighteenth session, before any number of it was seen. The source's discriminator names the class
    # of 0.5% of real target images (chance 3.8% over its 26 classes): its features are off the target's domain, and
    # the frozen encoder is that discriminator. FreezeD at 48 kimg made D generalise worse (72% of unseen images
    # against 86%). §3 keeps the encoder frozen ("slightly better"), yet Appendix A gives it lr 4e-4: does an encoder
    # that adapts to the target in phase 2 let the generator drop the input's class?
    Candidate(
        "palette-ema-enc",
        "palette-ema with the encoder trained in phase 2 (lr 4e-4, Appendix A)",
        PALETTE_EMA + ("--train-encoder",),
        (48.0, 96.0, 144.0),
        raw=("palette-enc", "the preset + our palette term (λ_color 5), encoder trained in phase 2"),
    ),
    # Added in the nineteenth session: at 96 kimg D's projection names the class of 82-86% of unseen target
    # images but takes the translations of unseen inputs for their target only 70% of the time, so G has not
    # satisfied even D's class signal, which the hinge term only raises for the target and never contrasts
    # with the other classes. Our class term adds that contrast on both sides (weight 1, StarGAN's λ_cls).
    Candidate(
        "palette-ema-cls",
        "palette-ema + our class term (λ_class 1): cross-entropy of D's projection scores",
        PALETTE_EMA + ("--lambda-class", "1"),
        (48.0, 96.0, 144.0),
        raw=("palette-cls", "the preset + our palette term (λ_color 5) + our class term (λ_class 1)"),
    ),
    # Added after palette-ema-cls at 96 kimg (trg-val RC 84.2 / 87.6 against 71.3 / 76.5 at seeds 1 / 2): its D now
    # takes 92-96% of the translations for their target but names only 87% of unseen real images, so D's
    # knowledge of the classes is the next limit; DiffAugment is the remedy for a D that memorises.
    Candidate(
        "palette-ema-cls-aug",
        "palette-ema-cls + DiffAugment (translation, cutout) on D's inputs",
        PALETTE_EMA + ("--lambda-class", "1", "--augment", "translation,cutout"),
        (48.0, 96.0, 144.0),
        raw=("palette-cls-aug", "the preset + our palette and class terms + DiffAugment (translation, cutout)"),
    ),
)
# Translation-time adaptor weights. w_l of Eq. 5 is read at every forward, so a trained model can translate
# with other weights than it trained with (its networks unchanged). The grid: multipliers of the shapes64
# preset's w_l at 4 / 8 / 16 / 32 px (the weights the shipped model trained with): the fourteen settings the
# seventh session tried by hand on the shipped model's trg-val split (scored on trg-val only). Before this stage
# was written, two of them were scored once on trg-eval (1.3/0.5/1/1, the least miss, and 1.3/1/1/1, the rule's
# pick); the rule (`choose`, unchanged since the fourth session) decides, not those numbers.
CALIBRATION: tuple[tuple[float, float, float, float], ...] = (
    (1, 1, 1, 1),
    (1, 0.7, 1, 1),
    (1, 0.5, 1, 1),
    (1, 0.3, 1, 1),
    (1, 0, 1, 1),
    (1, 1, 0.5, 0.5),
    (1, 1, 0, 0),
    (1, 0.7, 0.5, 0.5),
    (0.7, 1, 1, 1),
    (1.3, 1, 1, 1),
    (1.6, 1, 1, 1),
    (2, 1, 1, 1),
    (1.3, 0.5, 1, 1),
    (1.6, 0.5, 1, 1),
)
# The source BigGAN pretrained here is kept and scored at these lengths (up to --source-kimg): the src
# classifier recognised its samples 55% / 86% / 96% of the time (seed 0; 288 kimg is shipped).
SOURCE_KIMG = (144.0, 216.0, 288.0)
RC_GOAL, CENTRE_GOAL_PX = 90.0, 3.2  # the claims issue's goals: RC >= 90, centre error <= 5% of 64 px


def miss(summary: dict) -> float:
    """How far a candidate misses the two goals, each as a fraction of its goal (0: both met)."""
    return (
        max(0.0, RC_GOAL - summary["RC"]) / RC_GOAL
        + max(0.0, summary["center_error_px"] - CENTRE_GOAL_PX) / CENTRE_GOAL_PX
    )


BASELINES = ("copy", "ideal")
UNSEEN = ("hexagon", "star4", "ellipse", "trefoil", "drop")  # source classes the target lacks (§4.4)


@dataclass
class Plan:
    work: Path
    quick: bool
    seeds: tuple[int, ...]
    only: set[str] | None
    source_kimg: float
    train_kimg: float  # every claims run's length (CLAIMS_KIMG; --quick: shorter)
    per_class: int
    val_per_class: int = 100  # translations per class on trg-val (the recipe search)
    fc: bool = False
    source: str | None = None  # an existing source export (e.g. the shipped "shapes-source"): no pretraining
    calibrate: Path | None = None  # the export whose w_l the calibrate stage scores (None: the shipped `shapes`)
    log: list[str] = field(default_factory=list)

    @property
    def scale(self) -> float:
        """Lengths are written for CLAIMS_KIMG; --quick scales every one of them by this."""
        return self.train_kimg / CLAIMS_KIMG

    @property
    def source_export(self) -> str:
        """--source, else the kept length of the source pretrained here whose samples the src classifier
        recognises best (GAN-test RC: no target data and no held-out image decides; a tie goes to the
        shorter), once every kept length is scored (the source stage, before any run uses it)."""
        if self.source:
            return self.source
        lengths = source_lengths(self)
        scored = [(s["RC"], -k) for k in lengths if (s := load(self, f"source-k{k:g}"))]
        best = f"export-{-max(scored)[1]:g}" if scored and len(scored) == len(lengths) else "export"
        return str(self.work / "source" / best)

    def variants(self) -> list[Variant]:
        return [v for v in VARIANTS if self.only is None or v.slug in self.only]


def run(cmd: list[str], log: Path) -> None:
    """Run a deepi2i command, appending its output to `log`; stop the benchmark if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    print(f"  [{time.perf_counter() - started:7.0f} s] {' '.join(cmd[2:5])} ... (exit {code}, log {log})", flush=True)
    if code:
        sys.exit(f"command failed (exit {code}); see {log}")


def stage_data(p: Plan) -> None:
    n = (lambda k: max(4, k // 10)) if p.quick else (lambda k: k)
    sets = {
        "src": ("source", 0, n(400), 0.1),
        "trg": ("target", 0, n(50), 0.1),
        "trg500": ("target", 0, n(500), 0.1),
        "trg-val": ("target", 1, n(300), 0.1667),
        "trg-eval": ("target", 2, n(500), 0.1),
    }
    for name, (domain, seed, per_class, test) in sets.items():
        if not (p.work / name / "deepi2i_manifest.json").is_file():
            shutil.rmtree(p.work / name, ignore_errors=True)
            run(
                [
                    *DEEPI2I,
                    "shapes",
                    str(p.work / name),
                    "--domain",
                    domain,
                    "--resolution",
                    "64",
                    "--seed",
                    str(seed),
                    "--per-class",
                    str(per_class),
                    "--test-fraction",
                    str(test),
                ],
                p.work / "logs" / "data.log",
            )
    unseen = p.work / "unseen"
    if not (unseen / "deepi2i_manifest.json").is_file():
        shutil.rmtree(unseen, ignore_errors=True)
        run(
            [
                *DEEPI2I,
                "shapes",
                str(unseen),
                "--domain",
                "target",
                "--resolution",
                "64",
                "--seed",
                "3",
                "--per-class",
                str(n(20)),
                "--classes",
                ",".join(UNSEEN),
            ],
            p.work / "logs" / "data.log",
        )


def common(p: Plan) -> list[str]:
    return [
        "--preset",
        "shapes64",
        "--no-progress",
        "--log-every",
        "50",
        "--sample-every",
        "500",
        "--checkpoint-every",
        "250",
    ]


def source_lengths(p: Plan) -> list[float]:
    """The lengths at which the source pretrained here is kept (WORK/source/export-<kimg>) and scored."""
    return sorted({k * p.scale for k in SOURCE_KIMG if k * p.scale < p.source_kimg} | {p.source_kimg})


def stage_source(p: Plan) -> None:
    """Pretrain the source BigGAN (unless --source names one), lengthened in place through
    `source_lengths`, and score each length on its own data: the GAN-test RC and per-class FID of its
    samples say how class-specific a teacher the transfer starts from."""
    metrics = "fid,kid,rc"
    if p.source is not None:
        print(f"  using the source {p.source} (no pretraining)")
        name = ["--name", f"source BigGAN {p.source}"]
        evaluate(p, Path(p.source), p.work / "reports" / "source", name, split="src", metrics=metrics)
        return
    out = p.work / "source"
    for kimg in source_lengths(p):
        export = out / f"export-{kimg:g}"
        if not (export / "config.json").is_file():
            run(
                [
                    *DEEPI2I,
                    "pretrain",
                    "--data",
                    str(p.work / "src"),
                    "--out",
                    str(out),
                    "--kimg",
                    str(kimg),
                    *common(p),
                ],
                p.work / "logs" / "source.log",
            )
            shutil.copytree(out / "export", export, dirs_exist_ok=True)
        name = ["--name", f"source BigGAN, {kimg:g} kimg"]
        evaluate(p, export, p.work / "reports" / f"source-k{kimg:g}", name, split="src", metrics=metrics)


def run_dir(p: Plan, v: Variant, seed: int) -> Path:
    return p.work / "runs" / f"{v.slug}-s{seed}"


# The claims and the recipe search ran without an EMA, a colour term, our class term or DiffAugment (the preset's
# then): each stays off unless a run names its flag, so that rows trained later compare with earlier ones.
PINNED_OFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("--ema-decay", ("--no-ema",)),
    ("--lambda-color", ("--lambda-color", "0", "--color-term", "cells")),
    ("--lambda-class", ("--lambda-class", "0")),
    ("--augment", ("--augment", "none")),
)


def train(p: Plan, data: str, out: Path, seed: int, args: tuple[str, ...], kimg: float, scratch: bool) -> None:
    """`deepi2i train` on WORK/data into `out` (resumes, or lengthens, a run already there)."""
    src = ["--scratch"] if scratch else ["--source", p.source_export, "--class-map", "names"]
    # --quick: phase 1 scaled with the rest, so that lengthening a quick run changes only its last phase
    phase1 = ["--phase1-kimg", f"{3.2 * p.scale:g}"] if p.quick and not scratch else []
    pinned = [off for flag, offs in PINNED_OFF if flag not in args for off in offs]
    run(
        [
            *DEEPI2I,
            "train",
            "--data",
            str(p.work / data),
            "--out",
            str(out),
            "--seed",
            str(seed),
            *src,
            "--kimg",
            str(kimg),
            *phase1,
            *pinned,
            *args,
            *common(p),
        ],
        p.work / "logs" / f"{out.name}.log",
    )


def export_raw(run: Path, out: Path) -> None:
    """RUN/export with its generator replaced by the trained one of RUN's newest checkpoint (not the EMA)."""
    from deepi2i.checkpoint import load_state_strict
    from deepi2i.networks import DeepI2I
    from deepi2i.training.state import load_latest

    model = DeepI2I.from_pretrained(run / "export")
    where, state = load_latest(run)
    load_state_strict(model.generator, state["networks"]["generator"], f"{where} (generator)")
    model.save_pretrained(out)


def raw_of(export: Path) -> Path:
    """Where `snapshot` keeps the trained generator (not the EMA) of the export at `export`."""
    return export.with_name(f"{export.name}-raw")


def recipe_name(slug: str, seed: int, kimg: float) -> str:
    """The report name of one recipe evaluation on trg-val."""
    return f"{slug}-s{seed}-k{kimg:g}"


def snapshot(
    p: Plan, out: Path, kimg: float, data: str, seed: int, args: tuple[str, ...], scratch: bool, raw: bool = False
) -> Path:
    """The run in `out` trained (or lengthened in place: the same numbers as one longer run) to `kimg`,
    its export kept as out/export-<kimg>; with `raw` also its trained generator (not the EMA) as
    export-<kimg>-raw."""
    export = out / f"export-{kimg:g}"
    wanted = [export, *([raw_of(export)] if raw else [])]
    if not all((e / "config.json").is_file() for e in wanted):
        train(p, data, out, seed, args, kimg, scratch)
        shutil.copytree(out / "export", export, dirs_exist_ok=True)
        if raw:
            export_raw(out, wanted[1])
    return export


def stage_train(p: Plan) -> None:
    for v in p.variants():
        for seed in p.seeds:
            out = run_dir(p, v, seed)
            # a variant with a curve is done when its final export is kept; one without, when it has any
            if (out / "export" / "config.json").is_file() and not curve_pending(p, v, seed):
                continue
            for kimg in (*v.curve, CLAIMS_KIMG):
                snapshot(p, out, kimg * p.scale, v.data, seed, v.args, v.scratch)


def recipe_runs(p: Plan) -> list[tuple[str, str, int, float, str]]:
    """(slug, name, seed, kimg, report name) of every recipe evaluation, in training order."""
    return [
        (slug, name, seed, k * p.scale, recipe_name(slug, seed, k * p.scale))
        for c in CANDIDATES
        if p.only is None or c.slug in p.only
        for seed in p.seeds
        for k in c.kimg
        for slug, name in [(c.slug, c.name), *([c.raw] if c.raw else [])]
    ]


def stage_recipe(p: Plan) -> None:
    """Train each candidate to each of its lengths (keeping a copy of each export) and score it on trg-val."""
    for c in CANDIDATES:
        if p.only is not None and c.slug not in p.only:
            continue
        for seed in p.seeds:
            out = p.work / "recipe" / f"{c.slug}-s{seed}"
            for kimg in (k * p.scale for k in c.kimg):
                export = snapshot(p, out, kimg, c.data, seed, c.args, scratch=False, raw=c.raw is not None)
                exports = {c.slug: export, **({c.raw[0]: raw_of(export)} if c.raw else {})}
                for slug, model in exports.items():
                    name = recipe_name(slug, seed, kimg)
                    evaluate(p, model, p.work / "recipe-reports" / name, ["--name", name], "trg-val")


def evaluate(
    p: Plan, model: Path, out: Path, extra: list[str], split: str = "trg-eval", metrics: str | None = None
) -> None:
    """Score `model` on `split` (trg-eval: the reported numbers; trg-val: the recipe's choices), once."""
    if (out / "report.json").is_file():
        return
    # FC trains a classifier per model (minutes each on 2 cores) and reads only 50 real test images:
    # opt in with --fc. The RC classifier trains JUDGE_EPOCHS on the split's real training images.
    metrics = metrics or ("fid,kid,rc,fc,pose" if p.fc else "fid,kid,rc,pose")
    per_class = p.per_class if split == "trg-eval" else p.val_per_class
    cache = p.work / ("eval-cache" if split == "trg-eval" else f"eval-cache-{split.removeprefix('trg-')}")
    run(
        [
            *DEEPI2I,
            "evaluate",
            "--model",
            str(model),
            "--data",
            str(p.work / split),
            "--out",
            str(out),
            "--extractor",
            "classifier",
            "--metrics",
            metrics,
            "--per-class",
            str(per_class),
            "--fc-per-class",
            str(per_class),
            "--kid-subset-size",
            str(min(1000, per_class)),
            "--classifier-epochs",
            str(JUDGE_EPOCHS.get(split, 5)),
            "--cache-dir",
            str(cache),
            "--quiet",
            *extra,
        ],
        p.work / "logs" / f"eval-{out.name}.log",
    )


def untrained_model(p: Plan) -> Path:
    """DeepI2I as transfer leaves it before any training (adaptors random): a 0-kimg run's export."""
    out = p.work / "runs" / "untrained"
    if not (out / "export" / "config.json").is_file():
        run(
            [
                *DEEPI2I,
                "train",
                "--data",
                str(p.work / "trg"),
                "--out",
                str(out),
                "--source",
                p.source_export,
                "--class-map",
                "names",
                "--kimg",
                "0",
                *common(p),
            ],
            p.work / "logs" / "untrained.log",
        )
    return out / "export"


def stage_eval(p: Plan) -> None:
    reports = p.work / "reports"
    untrained = untrained_model(p)
    evaluate(p, untrained, reports / "untrained", ["--name", "untrained (transfer init)"])
    for b in BASELINES:
        evaluate(p, untrained, reports / f"baseline-{b}", ["--baseline", b])
    evaluate(p, shipped_model(), reports / shipped_report(), ["--name", "the shipped shapes model"])
    for v in p.variants():
        for seed in p.seeds:
            model = run_dir(p, v, seed) / "export"
            if (model / "config.json").is_file() and not curve_pending(p, v, seed):
                evaluate(p, model, reports / f"{v.slug}-s{seed}", ["--name", f"{v.name} (seed {seed})"])
            for kimg, name in curve_points(p, v, seed)[:-1]:
                export = run_dir(p, v, seed) / f"export-{kimg:g}"
                if (export / "config.json").is_file():
                    evaluate(p, export, reports / name, ["--name", f"{v.name} (seed {seed}, {kimg:g} kimg)"])


def shipped_model() -> Path:
    from deepi2i.pretrained import shipped_path

    return shipped_path("shapes")


def shipped_report() -> str:
    """The shipped model's report name, keyed by its weights (a newly shipped model is scored anew) and by
    its translation-time adaptor weights when `calibrate` changed them from the preset's."""
    from deepi2i.checkpoint import read_export_config

    name = f"shipped-{weights_tag(shipped_model())}"
    weights = read_export_config(shipped_model())[1].adaptor_weights
    scale = calibration_scale(weights)
    return name if scale == CALIBRATION[0] else f"{name}-{calibration_label(scale)}"


def preset_weights() -> list[tuple[int, float]]:
    """The shapes64 preset's w_l, coarsest level first: what CALIBRATION multiplies."""
    from deepi2i.config import SHAPES_ADAPTOR_WEIGHTS

    return sorted(SHAPES_ADAPTOR_WEIGHTS.items())


def calibrated_weights(scale: tuple[float, ...]) -> dict[int, float]:
    """w_l = the preset's w_l times `scale`, per level (4, 8, 16, 32 px)."""
    return {level: round(w * s, 6) for (level, w), s in zip(preset_weights(), scale, strict=True)}


def calibration_scale(weights: object) -> tuple[float, ...]:
    """The multipliers of the preset's w_l that give `weights` (a number or {level: w})."""
    given = {int(k): float(v) for k, v in weights.items()} if isinstance(weights, dict) else None
    return tuple(round((given[level] if given is not None else float(weights)) / w, 6) for level, w in preset_weights())


def calibration_label(scale: tuple[float, ...]) -> str:
    """'w1.3-0.5-1-1': a setting's multipliers at 4/8/16/32 px, as report names carry them."""
    return "w" + "-".join(f"{s:g}" for s in scale)


def calibration_name(tag: str, scale: tuple[float, ...]) -> str:
    """The report (and export) name of one CALIBRATION setting of the shipped model `tag`."""
    return f"calibrate-{tag}-{calibration_label(scale)}"


CALIBRATED = "Translation-time adaptor weights"  # the model card line that names them


def stage_calibrate(p: Plan) -> None:
    """Choose the shipped model's translation-time adaptor weights on trg-val: score every CALIBRATION
    setting there (each an export of the same networks with other w_l), let the recipe's rule pick, and
    if it picks other weights than the shipped config's, rewrite the shipped config.json (and say so in
    its model card). The networks' weights are never touched. With --calibrate EXPORT, the same for a
    candidate before it is shipped: its settings are scored and the rule's choice printed, nothing written."""
    from deepi2i.checkpoint import load_export

    target = p.calibrate or shipped_model()  # the model whose w_l are scored (and, if shipped, rewritten)
    model = load_export(target)
    target_scale = calibration_scale(model.config.adaptor_weights)
    tag = weights_tag(target)
    scored = []
    for scale in CALIBRATION:
        name = calibration_name(tag, scale)
        export = p.work / "calibrate" / name
        if not (export / "config.json").is_file():
            model.config = replace(model.config, adaptor_weights=calibrated_weights(scale))
            model.save_pretrained(export)
        evaluate(p, export, p.work / "recipe-reports" / name, ["--name", name], "trg-val")
        scored.append((scale, export, load(p, name, recipe=True)))
    best = choose([s for *_, s in scored])
    scale, export = next((scale, export) for scale, export, s in scored if s is best)
    weights = calibrated_weights(scale)
    print(f"  the rule's choice on trg-val: {calibration_label(scale)} (w_l {weights}), RC {best['RC']:.1f}")
    print(f"  its export: {export}")  # the folder to score on the test split (the label alone is not unique)
    if p.quick or p.calibrate is not None:
        print("  a quick run or a candidate (--calibrate): no config is rewritten")
        return
    if target_scale == scale:
        print("  the shipped config already has these weights: nothing to change")
        return
    # the chosen export differs from the shipped one only in config.json: copy just that file
    shutil.copy(export / "config.json", target)
    card = target / "MODEL_CARD.md"
    kept = [line for line in card.read_text().splitlines() if not line.startswith(CALIBRATED)]  # an earlier choice
    note = (
        f"{CALIBRATED} w_l = {weights} at 4/8/16/32 px, chosen on trg-val by "
        "`python benchmarks/shapes_claims.py WORK --source shapes-source --stages data,calibrate` "
        f"(trained with the preset's {dict(preset_weights())}; the networks are as trained)."
    )
    card.write_text("\n".join([*kept, note]) + "\n")
    print(f"  rewrote {target / 'config.json'} with w_l {weights}")


def curve_points(p: Plan, v: Variant, seed: int) -> list[tuple[float, str]]:
    """(kimg, report name) of every scored length of a run, the final one (the claims table's) last."""
    final = f"{v.slug}-s{seed}"
    return [(k * p.scale, f"{final}-k{k * p.scale:g}") for k in v.curve] + [(p.train_kimg, final)]


def curve_pending(p: Plan, v: Variant, seed: int) -> bool:
    """A run with a curve whose RUN/export is an intermediate length (training was stopped on the way)."""
    return bool(v.curve) and not (run_dir(p, v, seed) / f"export-{p.train_kimg:g}" / "config.json").is_file()


def eval_classifier(p: Plan) -> tuple[object, list[str]]:
    """The RC classifier `evaluate` trained on trg-eval's train split (from the cache) and its class names."""
    from deepi2i.data.folder import ClassFolderDataset
    from deepi2i.metrics.classifier import ImageClassifier

    cached = sorted((p.work / "eval-cache").glob("classifier-small-*.pt"))
    if len(cached) != 1:
        sys.exit(
            f"expected one trg-eval RC classifier in {p.work / 'eval-cache'}, found {len(cached)}: run the eval stage"
        )
    return ImageClassifier.load(cached[0]), ClassFolderDataset(p.work / "trg-eval", 64, "train").class_names


def stage_extra(p: Plan) -> None:
    """Claim 5: diversity over z (classifier-feature distances) and unseen input classes (§4.4)."""
    import torch

    from deepi2i.data.folder import ClassFolderDataset
    from deepi2i.demo import score
    from deepi2i.translate import Translator
    from deepi2i.visualize import to_uint8

    classifier, names_clf = eval_classifier(p)
    unseen = ClassFolderDataset(p.work / "unseen", 64, "all")
    records = {r["path"]: r for r in json.loads((p.work / "unseen" / "deepi2i_shapes.json").read_text())["images"]}
    params = [records[q.relative_to(p.work / "unseen").as_posix()] for q in unseen.paths]
    inputs = torch.stack([to_uint8(unseen[i][0]) for i in range(len(unseen))])
    seen = ClassFolderDataset(p.work / "trg-eval", 64, "test")
    seen_x = torch.stack([to_uint8(seen[i][0]) for i in range(0, len(seen), 5)])
    models = [(shipped_report(), shipped_model())] + [
        (f"{v.slug}-s{seed}", run_dir(p, v, seed) / "export")
        for v in p.variants()
        if v.name in ("DeepI2I", "DeepI2I (scratch)")
        for seed in p.seeds
        if not curve_pending(p, v, seed)
    ]
    written = p.work / "reports" / "extra.json"
    out: dict[str, dict] = read_json(written)  # scored once, like `evaluate`'s reports
    for key, model in models:
        if key in out or not (model / "config.json").is_file():
            continue
        t = Translator.from_pretrained(model, device="cpu")
        names = t.class_names
        fake = to_uint8(t.translate_tensor(inputs, list(range(len(names))), 1, seed=0)[:, :, 0])
        row = {"unseen": score(fake, inputs, params, names, (classifier, names_clf))}
        # diversity: mean distance between classifier features of 2 samples (other z) vs of 2 inputs (same z)
        samples = to_uint8(t.translate_tensor(seen_x, list(range(len(names))), 2, seed=0))  # [N, T, 2, 3, R, R]
        with torch.no_grad():
            f = classifier.features(samples.flatten(0, 2)).view(*samples.shape[:3], -1)
        row["z_distance"] = float((f[:, :, 0] - f[:, :, 1]).norm(dim=-1).mean())
        row["input_distance"] = float((f[:, :, 0] - f.roll(1, 0)[:, :, 0]).norm(dim=-1).mean())
        out[key] = row
    written.write_text(json.dumps(out, indent=2) + "\n")


# ---- tables ----------------------------------------------------------------------------------------

COLUMNS = (
    ("RC", "RC↑"),
    ("FC", "FC↑"),
    ("mKIDx100", "mKID×100↓"),
    ("mFID", "mFID↓"),
    ("IoU", "IoU↑"),
    ("center_error_px", "centre err px↓"),
    ("fg_color_error", "fg colour err↓"),
    ("bg_color_error", "bg colour err↓"),
)


# Every evaluated run's report is also kept in the repository, so the tables can be rebuilt after WORK is
# gone: a work folder lives on one machine, the measurements should not. The scores of the source pretrained
# here go to RECORDS/source-k<kimg>.json (they choose the teacher); everything trained from a source goes
# under RECORDS/teacher-<hash>/, keyed by that source's generator weights, so runs from two teachers never
# mix in one table or replace each other.
RECORDS = Path(__file__).resolve().parents[1] / "docs" / "results" / "shapes-runs"
# Evaluations made before 2026-12-06 listed each target's inputs in split order, so 100-200 translations per class
# drew on only two to four input classes (docs/evaluation.md); their records stay in RECORDS/teacher-<hash>/ itself.
# This code's records go to the subfolder below, so that no table mixes the two input lists.
INPUT_LISTS = "interleaved"
# The RC judge trains JUDGE_EPOCHS[split] epochs (5 elsewhere). trg-val has 2,500 training images against
# trg-eval's 4,500, so at 5 epochs its judge got half the optimiser steps and knew only 94.6% of real val images
# (pentagons 80%, squares 78%; benchmarks/judge_epochs.py); at 20 it knows 99.8%, as the test judges know theirs.
JUDGE_EPOCHS = {"trg-val": 20}
# Validation reports scored by the 20-epoch judge are kept here; those of the 5-epoch judge stay in "recipe".
RECIPE_RECORDS = "recipe-judge20"


def weights_tag(export: str | Path) -> str:
    """The first 8 hex digits of an export's (or shipped name's) generator weights: who it is, by content."""
    from deepi2i.pretrained import resolve_model

    path = resolve_model(export) / "generator.safetensors"
    return _sha256_8(path, path.stat().st_mtime_ns)


@functools.cache
def _sha256_8(path: Path, mtime_ns: int) -> str:
    """Hashed once per file version: the report stage asks for the teacher at every record it reads."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def teacher_records(p: Plan) -> Path | None:
    """RECORDS/teacher-<hash>/INPUT_LISTS of WORK's source (None before the source exists, or in a quick run)."""
    try:
        return None if p.quick else RECORDS / f"teacher-{weights_tag(p.source_export)}" / INPUT_LISTS
    except FileNotFoundError:
        return None


def record_path(p: Plan, name: str, recipe: bool = False) -> Path | None:
    """Where run NAME's report is kept: RECORDS for a length of the source pretrained here (those pick the
    teacher), else WORK's teacher's folder; None in a quick run or before the source exists."""
    if p.quick:
        return None
    if name.startswith("source-k"):
        return RECORDS / f"{name}.json"
    teacher = teacher_records(p)
    return None if teacher is None else teacher / (RECIPE_RECORDS if recipe else "") / f"{name}.json"


def keep_records(p: Plan) -> None:
    """Copy WORK's reports (report.json per run, extra.json) into the records; quick runs are never kept."""
    if (teacher := teacher_records(p)) is None:
        return
    for folder, recipe in (("reports", False), ("recipe-reports", True)):
        for report in sorted((p.work / folder).glob("*/report.json")):
            kept = record_path(p, report.parent.name, recipe)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(report, kept)
    rows = read_json(teacher / "extra.json") | read_json(p.work / "reports" / "extra.json")
    if rows:
        (teacher / "extra.json").write_text(json.dumps(rows, indent=2) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def load_report(p: Plan, name: str, recipe: bool = False) -> dict | None:
    """Run NAME's report (a recipe evaluation on trg-val if `recipe`): from WORK, else from its record
    (`record_path`), else None."""
    kept = record_path(p, name, recipe)
    for path in [p.work / ("recipe-reports" if recipe else "reports") / name / "report.json", kept]:
        if path is not None and (report := read_json(path)):
            return report
    return None


def load(p: Plan, name: str, recipe: bool = False) -> dict | None:
    """The summary of run NAME's report (`load_report`), else None."""
    report = load_report(p, name, recipe)
    return report["summary"] if report else None


def judge(report: dict) -> str:
    """The RC classifier that scored a report (its sha256, 8 digits; '?' if the report names none). It is
    trained with a fixed seed, but on another machine it rounds differently and comes out another
    classifier, so one model scored by two judges gets slightly different RC and mFID."""
    return report.get("protocol", {}).get("classifier", {}).get("rc_classifier_sha256", "?")[:8]


def cell(values: list[float]) -> str:
    values = [x for x in values if x is not None and not math.isnan(x)]
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.3g}" if abs(mean) < 1 else f"{mean:.1f}"
    spread = (max(values) - min(values)) / 2
    return f"{mean:.3f} ± {spread:.3f}" if abs(mean) < 1 else f"{mean:.1f} ± {spread:.1f}"


def source_rows(p: Plan) -> list[tuple[str, str, str]]:
    """(label, report name, kind) of each scored source: the one given by --source, or each length."""
    kimg = {r.name: r.name.removeprefix("source").removeprefix("-k") for r in (p.work / "reports").glob("source*")}
    return [
        (f"source BigGAN{f', {k} kimg' if k else ''}: its samples, on its own data (src)", n, "source")
        for n, k in sorted(kimg.items(), key=lambda nk: float(nk[1] or 0))
    ]


def stage_report(p: Plan) -> Path:
    keep_records(p)
    lines = [
        "| Method | claim | seeds | " + " | ".join(h for _, h in COLUMNS) + " | judge |",
        "|---|---|---|" + "---:|" * len(COLUMNS) + "---|",
    ]
    judges: dict[str, str] = {}  # sha -> letter, in order of appearance

    def row(label: str, kind: str, seeds: str, reports: list[dict]) -> str:
        cells = " | ".join(cell([r["summary"].get(k) for r in reports]) for k, _ in COLUMNS)
        marks = "/".join(judges.setdefault(judge(r), chr(ord("A") + len(judges))) for r in reports)  # per seed
        return f"| {label} | {kind} | {seeds} | {cells} | {marks} |"

    for label, name, kind in [
        ("input copied (perfect pose, wrong class)", "baseline-copy", "baseline"),
        ("ideal translation (re-rendered)", "baseline-ideal", "baseline"),
        ("untrained (transfer init, adaptors random)", "untrained", "baseline"),
        ("**the shipped `shapes` model** (the recipe's choice)", shipped_report(), "recipe"),
        *source_rows(p),
    ]:
        if report := load_report(p, name):
            lines.append(row(label, kind, "–", [report]))
    for v in p.variants():
        found = [r for seed in p.seeds if (r := load_report(p, f"{v.slug}-s{seed}"))]
        if found:
            lines.append(row(v.name, v.claim, str(len(found)), found))
    if judges:
        lines.append(
            "\njudge: the RC classifier (also the mFID/mKID features) that scored each row, per seed: "
            + ", ".join(f"{letter} = {sha}" for sha, letter in judges.items())
            + ("." if len(judges) < 2 else ". Each was trained with the same seed and recipe on the same images, "
               "but on another machine, so they round differently: compare rows scored by one judge.")
        )  # fmt: skip
    teacher = teacher_records(p)
    extra = read_json(p.work / "reports" / "extra.json" if teacher is None else teacher / "extra.json")  # merged
    if extra:
        lines += [
            "",
            "| model | unseen inputs: class acc % | IoU | centre err px | fg colour err "
            "| z distance | input distance |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in extra.items():
            u = r["unseen"]
            label = f"the shipped `shapes` model ({name})" if name.startswith("shipped-") else name
            lines.append(
                f"| {label} | {u['class_accuracy']:.1f} | {u['iou']:.3f} | {u['center_error_px']:.2f} | "
                f"{u['fg_color_error']:.1f} | {r['z_distance']:.2f} | {r['input_distance']:.2f} |"
            )
    lines += curve_table(p)
    lines += recipe_table(p)
    lines += calibration_table(p)
    out = p.work / "claims.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


def curves(p: Plan) -> dict[str, list[tuple[float, list[dict]]]]:
    """Variant name -> [(kimg, the seeds' summaries at that length)] for the variants with a curve."""
    out = {}
    for v in p.variants():
        points = [
            (kimg, found)
            for i, (kimg, _) in enumerate(curve_points(p, v, 0))
            if (found := [s for seed in p.seeds if (s := load(p, curve_points(p, v, seed)[i][1]))])
        ]
        if v.curve and len(points) > 1:
            out[v.name] = points
    return out


def curve_table(p: Plan) -> list[str]:
    """mFID and RC against training length (Fig. 2b), mean ± half-range over seeds; also WORK/curves.png."""
    found = curves(p)
    if not found:
        return []
    lines = ["", "| Method | kimg | seeds | RC↑ | mFID↓ | centre err px↓ |", "|---|---:|---:|---:|---:|---:|"]
    for name, points in found.items():
        for kimg, ss in points:
            cells = " | ".join(cell([s.get(k) for s in ss]) for k in ("RC", "mFID", "center_error_px"))
            lines.append(f"| {name} | {kimg:g} | {len(ss)} | {cells} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, points in found.items():
        k = [kimg for kimg, _ in points]
        for ax, key in zip(axes, ("mFID", "RC"), strict=True):
            values = [[s[key] for s in ss] for _, ss in points]
            mean = [sum(v) / len(v) for v in values]
            (line,) = ax.plot(k, mean, marker="o", label=name)
            ax.fill_between(k, [min(v) for v in values], [max(v) for v in values], color=line.get_color(), alpha=0.2)
    for ax, key in zip(axes, ("mFID (classifier features) ↓", "RC % ↑"), strict=True):
        ax.set_xlabel("kimg (thousands of training images)")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(p.work / "curves.png", dpi=100)
    plt.close(fig)
    return lines


def choose(summaries: list[dict]) -> dict:
    """The rule: the least miss; within MISS_TIE of it, the lowest foreground colour error."""
    least = min(miss(s) for s in summaries)
    return min((s for s in summaries if miss(s) <= least + MISS_TIE), key=lambda s: s["fg_color_error"])


def chosen_recipe(p: Plan) -> tuple[Candidate, str, int, float] | None:
    """(candidate, slug, seed, kimg) of the recipe search's winner among the evaluations found, if any."""
    # only candidates trained on the target set the goals are for (trg); the others are diagnostics
    runs = [(r, s) for r in recipe_runs(p) if candidate_of(r[0]).data == "trg" and (s := load(p, r[4], recipe=True))]
    if not runs:
        return None
    best = choose([s for _, s in runs])
    slug, _, seed, kimg, _ = next(r for r, s in runs if s is best)
    return candidate_of(slug), slug, seed, kimg


def candidate_of(slug: str) -> Candidate:
    """The candidate whose evaluation (EMA or trained generator) is reported under `slug`."""
    return next(c for c in CANDIDATES if slug in (c.slug, c.raw and c.raw[0]))


def recipe_table(p: Plan) -> list[str]:
    """The recipe search on trg-val, one row per candidate and length, with the rule's miss."""
    keys = ("RC", "mFID", "IoU", "center_error_px", "fg_color_error", "bg_color_error")
    lines = [
        "",
        "| candidate (on trg-val) | seed | kimg | RC↑ | mFID↓ | IoU↑ | centre err px↓ | fg colour err↓ "
        "| bg colour err↓ | miss↓ |",
        "|---|---|---:|" + "---:|" * (len(keys) + 1),
    ]
    found = [(label, seed, kimg, s) for _, label, seed, kimg, n in recipe_runs(p) if (s := load(p, n, recipe=True))]
    if not found:
        return []
    chosen = choose([s for *_, s in found])
    for label, seed, kimg, s in found:
        cells = " | ".join(cell([s.get(k)]) for k in keys)
        mark = " **(chosen)**" if s is chosen else ""
        lines.append(f"| {label} | {seed} | {kimg:g} | {cells} | {miss(s):.3f}{mark} |")
    return lines


def calibration_table(p: Plan) -> list[str]:
    """The shipped model's translation-time adaptor weights on trg-val, one row per CALIBRATION setting."""
    keys = ("RC", "mFID", "IoU", "center_error_px", "fg_color_error", "bg_color_error")
    tag = weights_tag(shipped_model())
    found = [(scale, s) for scale in CALIBRATION if (s := load(p, calibration_name(tag, scale), recipe=True))]
    if not found:
        return []
    chosen = choose([s for _, s in found])
    lines = [
        "",
        f"| w_l at 4/8/16/32 px (shipped {tag}, on trg-val) | RC↑ | mFID↓ | IoU↑ | centre err px↓ "
        "| fg colour err↓ | bg colour err↓ | miss↓ |",
        "|---|" + "---:|" * (len(keys) + 1),
    ]
    for scale, s in found:
        weights = " / ".join(f"{w:g}" for w in calibrated_weights(scale).values())
        cells = " | ".join(cell([s.get(k)]) for k in keys)
        lines.append(f"| {weights} | {cells} | {miss(s):.3f}{' **(chosen)**' if s is chosen else ''} |")
    return lines


def stage_ship(p: Plan) -> None:
    """Copy into the package (src/deepi2i/weights/), each with a MODEL_CARD.md naming the command that
    made it: the source BigGAN (when pretrained here, not given by --source), the recipe search's winner
    (else the seed-0 DeepI2I run, if either exists) and the trg-eval RC classifier."""
    from deepi2i.metrics.classifier import save_classifier

    weights = Path(__file__).resolve().parents[1] / "src" / "deepi2i" / "weights"
    source = f"--source {p.source}" if p.source else f"--source-kimg {p.source_kimg}"
    command = f"python benchmarks/shapes_claims.py WORK --seeds {','.join(map(str, p.seeds))} {source}"
    shipped: dict[str, tuple[Path, str, str]] = {}  # name -> (export, command, note)
    if p.source is None:
        note = f"The best-recognised of the kept lengths: `{Path(p.source_export).name}` (see the source stage).\n"
        shipped["shapes-source"] = (Path(p.source_export), f"{command} --stages data,source", note)
    if (won := chosen_recipe(p)) is not None:
        c, slug, seed, kimg = won
        export = p.work / "recipe" / f"{c.slug}-s{seed}" / f"export-{kimg:g}"
        export = export if slug == c.slug else raw_of(export)
        note = f"The recipe search's choice on trg-val: `{slug}` at {kimg:g} kimg, seed {seed}.\n"
        if (export / "config.json").is_file():
            shipped["shapes"] = (export, f"{command} --only {c.slug} --stages data,source,recipe", note)
        else:  # chosen from the kept records of another WORK folder
            print(f"  the recipe's choice ({slug}, {kimg:g} kimg, seed {seed}) has no export in WORK: `shapes` stays")
    elif (export := run_dir(p, next(v for v in VARIANTS if v.slug == "deepi2i"), p.seeds[0]) / "export").is_dir():
        shipped["shapes"] = (export, f"{command} --only deepi2i --stages data,source,train", "")
    else:
        print("  no DeepI2I model in WORK yet (neither a recipe evaluation nor a deepi2i run): `shapes` stays as it is")
    missing = [str(export) for export, _, _ in shipped.values() if not (export / "config.json").is_file()]
    if missing:  # checked before anything shipped is replaced
        sys.exit(f"cannot ship: no export at {', '.join(missing)}")
    for name, (export, how, note) in shipped.items():
        folder = weights / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for f in [export / "config.json", *sorted(export.glob("*.safetensors"))]:
            shutil.copy(f, folder / f.name)
        (folder / "MODEL_CARD.md").write_text(
            f"# {name}\n\nMade by deepi2i's `{how}` (the run's own config.json lists every setting).\n"
            f"{note}Results, data and seeds: docs/results/shapes.md.\n"
        )
    classifier, names = eval_classifier(p)
    save_classifier(
        classifier,
        names,
        weights / "shapes-classifier",
        made_by=f"deepi2i evaluate's RC classifier on trg-eval's train split ({command} --stages eval)",
    )
    print(f"shipped {', '.join(shipped)} and the Shapes classifier into {weights}")


STAGES = {
    "data": stage_data,
    "source": stage_source,
    "recipe": stage_recipe,
    "train": stage_train,
    "eval": stage_eval,
    "extra": stage_extra,
    "report": stage_report,
    "ship": stage_ship,
    "calibrate": stage_calibrate,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--quick", action="store_true", help="tiny lengths and data: a smoke run of every stage")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--only", help="comma list of variant (or recipe candidate) slugs (see --list)")
    ap.add_argument("--list", action="store_true", help="list the variants and exit")
    ap.add_argument(
        "--stages",
        default="data,source,train,eval,extra,report",
        help="comma list; also: recipe (the recipe search on trg-val), ship, calibrate (the shipped model's "
        "translation-time adaptor weights, chosen on trg-val)",
    )
    ap.add_argument("--source-kimg", type=float, default=288.0, help="source BigGAN length (default 288 = 9,000 steps)")
    ap.add_argument("--per-class", type=int, default=200, help="translations per class in evaluation (default 200)")
    ap.add_argument("--fc", action="store_true", help="also score FC (a classifier trained per model)")
    ap.add_argument(
        "--source",
        help="start every transfer from this source export or shipped name (e.g. shapes-source) "
        "instead of pretraining one",
    )
    ap.add_argument(
        "--calibrate",
        type=Path,
        help="the calibrate stage scores this export's translation-time w_l on trg-val and prints the rule's "
        "choice, writing nothing (default: choose and ship the shipped `shapes` model's)",
    )
    args = ap.parse_args()
    plan = Plan(
        work=args.work.resolve(),
        quick=args.quick,
        seeds=tuple(int(s) for s in args.seeds.split(",")),
        only=set(args.only.split(",")) if args.only else None,
        source_kimg=0.64 if args.quick else args.source_kimg,
        train_kimg=0.32 if args.quick else CLAIMS_KIMG,
        per_class=10 if args.quick else args.per_class,
        val_per_class=10 if args.quick else 100,
        source=args.source,
        fc=args.fc,
        calibrate=args.calibrate.resolve() if args.calibrate else None,
    )
    if args.list:
        for v in VARIANTS:
            print(f"{v.slug:<14} claim {v.claim:<8} {v.name}")
        for c in CANDIDATES:
            print(f"{c.slug:<14} recipe {', '.join(f'{k:g}' for k in c.kimg):<9} {c.name}")
        return
    plan.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for name in args.stages.split(","):
        print(f"== {name}", flush=True)
        STAGES[name](plan)
    print(f"done in {time.perf_counter() - started:.0f} s; threads {os.environ.get('OMP_NUM_THREADS', 'default')}")


if __name__ == "__main__":
    main()
