"""The web demo behind `deepi2i serve`: one `Translator` behind a Gradio page and a `/translate` API.

Everything that touches pixels is the library's own (`Translator`, `translation_grid`,
`interpolate_file`), so the page, the API, the CLI and Python give the same images for the same
seed. Uploads are checked here before they are decoded in full, because a web server, unlike the
CLI, takes files from strangers: size in bytes and pixels, animation and pixel mode are refused
with a message the page shows, never a traceback.

Gradio is an optional extra (`pip install -e ".[web]"`): only `build_app` and `serve` import it,
so the checks and request functions below work (and are tested) without a server.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PIL import Image

if TYPE_CHECKING:  # the library is imported by the functions that use it: `deepi2i --help` stays fast
    import gradio as gr

    from deepi2i.translate import ClassSpec, Translator

F = TypeVar("F", bound=Callable[..., Any])

INSTALL_HINT = 'the web demo needs Gradio: pip install -e ".[web]"'

# Pixel modes `deepi2i.data.images.to_rgb` maps to the colours a viewer shows; others (32-bit float
# "F", "HSV", "LAB", ...) have no agreed display and are refused rather than guessed at.
ACCEPTED_MODES = frozenset("1 L LA La P PA RGB RGBA RGBa RGBX CMYK YCbCr I I;16 I;16B I;16L I;16N".split())
EXAMPLE_SHAPES = ("circle", "star5", "heart")
# a wide grid (many classes) or strip shrinks to the column instead of overflowing it
CSS = "#grid img, #strip img { max-width: 100% !important; width: auto !important; height: auto !important; }"


@dataclass(frozen=True)
class WebLimits:
    """What one request may ask of the server; the defaults keep a CPU server responsive."""

    max_bytes: int = 10 * 2**20  # upload size
    max_pixels: int = 20_000_000  # width x height of an upload (a 20-megapixel photo)
    max_samples: int = 8  # outputs per target class
    max_outputs: int = 256  # target classes x samples per request
    max_steps: int = 16  # interpolation frames
    concurrency: int = 1  # model calls at once (each already uses every core); the rest queue
    queue_size: int = 64  # waiting requests beyond which new ones are refused

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"web limit {name} must be a positive integer, got {value!r}")
        if self.max_steps < 2:
            raise ValueError(f"web limit max_steps must be >= 2, got {self.max_steps}")


class RequestError(ValueError):
    """A bad request: its message is shown to the user as it is."""


# ---- checks ------------------------------------------------------------------------------------


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def read_upload(path: str | os.PathLike[str], limits: WebLimits, draft_size: int | None = None) -> Image.Image:
    """An uploaded file -> RGB image, or RequestError saying what is wrong with it.

    Bytes, pixel count, frames and mode are read from the header before any pixel is decoded, so
    an oversized or hostile file costs no memory. Decoding itself is the training loader's; with
    `draft_size` = the model resolution a JPEG decodes at the reduced scale `deepi2i translate`
    uses, so the page gives the CLI's pixels.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise RequestError(f"the file is too large: {_megabytes(size)}; the limit is {_megabytes(limits.max_bytes)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height, mode = img.width, img.height, img.mode
                frames = getattr(img, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width, height, mode, frames = -1, -1, "", 1
    except Image.UnidentifiedImageError:
        raise RequestError("not an image: upload a PNG, JPEG, WebP, BMP or another format Pillow reads") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise RequestError(f"corrupt or truncated image ({err})") from None
    if width < 0 or width * height > limits.max_pixels:
        shown = f"{width}x{height} pixels" if width >= 0 else "more pixels than Pillow allows"
        raise RequestError(f"the image is too large: {shown}; the limit is {limits.max_pixels:,} pixels")
    if frames > 1:
        raise RequestError(f"animated images are not supported ({frames} frames): upload a single still image")
    if mode not in ACCEPTED_MODES:
        raise RequestError(f"unsupported pixel mode {mode!r}: upload an RGB, RGBA, greyscale or palette image")
    from deepi2i.data.images import ImageLoadError, open_rgb

    try:
        return open_rgb(path, draft_size=draft_size)
    except ImageLoadError as err:
        raise RequestError(str(err).removeprefix(f"{path}: ")) from None


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """A form or API value (int, integral float, digit string) as an int in [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value  # exact, also beyond float precision (large seeds)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise RequestError(f"{name} must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise RequestError(f"{name} must be between {low} and {high}, got {int(number)}")
    return int(number)


def _truncation(value: object) -> float | None:
    """0 or empty means off (the page's slider starts at 0); otherwise a positive number."""
    if value in (None, ""):
        return None
    try:
        t = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RequestError(f"truncation must be a number, got {value!r}") from None
    if t < 0 or t != t:
        raise RequestError(f"truncation must be >= 0 (0 = off), got {value!r}")
    return t or None


def upload_path(value: object) -> str:
    """The server-side file of an image input: a Gradio FileData dict or a plain path."""
    if isinstance(value, Mapping):
        value = value.get("path")
    if not value:
        raise RequestError("no image: upload one or pick an example")
    return str(value)


# ---- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    """One translate request's result: the labelled grid and every output with its caption."""

    grid: Image.Image
    images: list[tuple[Image.Image, str]]
    targets: list[int]
    samples: int


def translate_image(
    translator: Translator,
    image: Image.Image,
    targets: ClassSpec,
    samples: object = 1,
    seed: object = 0,
    truncation: object = None,
    limits: WebLimits | None = None,
) -> Translation:
    """Translate one image into `targets` ('all', names, indices, 'a,b'), within `limits`."""
    from deepi2i.visualize import to_pil, translation_grid

    limits = limits or WebLimits()
    n_samples = whole_number(samples, "samples", 1, limits.max_samples)
    z_seed = whole_number(seed, "seed", 0, 2**63 - 1)
    indices = translator.resolve(targets)
    if len(indices) * n_samples > limits.max_outputs:
        raise RequestError(
            f"{len(indices)} classes x {n_samples} samples = {len(indices) * n_samples} images; "
            f"this server makes at most {limits.max_outputs} per request"
        )
    x = translator.preprocess(image)
    out = translator.translate_tensor(x, indices, n_samples, z_seed, _truncation(truncation))
    names = [translator.class_names[c] for c in indices]
    images = [
        (to_pil(out[0, j, k]), f"{name} #{k}" if n_samples > 1 else name)
        for j, name in enumerate(names)
        for k in range(n_samples)
    ]
    return Translation(translation_grid(x, out, names), images, indices, n_samples)


def write_zip(result: Translation, class_names: Sequence[str], folder: Path) -> Path:
    """grid.png plus one PNG per output, named like `deepi2i translate` names its files."""
    from deepi2i.translate import class_file_names, output_name

    files = class_file_names(class_names)
    jobs = [(c, k) for c in result.targets for k in range(result.samples)]
    entries = [("grid.png", result.grid)] + [
        (output_name("input", files[c], k, result.samples), image)
        for (c, k), (image, _) in zip(jobs, result.images, strict=True)
    ]
    path = folder / "translations.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, image in entries:
            with z.open(name, "w") as f:
                image.save(f, format="PNG")
    return path


def interpolate_image(
    translator: Translator,
    image: Image.Image,
    start: str | int,
    end: str | int,
    steps: object,
    seed: object,
    truncation: object,
    limits: WebLimits,
    folder: Path,
) -> tuple[Path, Path]:
    """The strip PNG and the A -> B -> A GIF of one image, written into `folder`."""
    from deepi2i.translate import interpolate_file

    n_steps = whole_number(steps, "steps", 2, limits.max_steps)
    z_seed = whole_number(seed, "seed", 0, 2**63 - 1)
    png, gif = interpolate_file(
        translator, image, start, end, folder / "interpolation.png", n_steps, z_seed, _truncation(truncation), gif=True
    )
    assert gif is not None
    return png, gif


# ---- the page ----------------------------------------------------------------------------------


class _Scratch:
    """Per-request folders for files the page offers for download; old ones are pruned, since
    Gradio copies what it serves into its own cache."""

    def __init__(self, max_age_s: float = 600.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="deepi2i-web-"))
        self.max_age_s = max_age_s

    def new(self) -> Path:
        now = time.time()
        for old in self.root.glob("req-*"):
            if now - old.stat().st_mtime > self.max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="req-", dir=self.root))


def render_examples(folder: Path, resolution: int = 128) -> list[Path]:
    """A few Shapes target-domain images, rendered now by the package (no image files shipped)."""
    from deepi2i.data.shapes import render
    from deepi2i.data.shapes_benchmark import TARGET, image_params

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for shape in EXAMPLE_SHAPES:
        path = folder / f"{shape}.png"
        render(image_params(TARGET, shape, 0, resolution, seed=0)).save(path)
        paths.append(path)
    return paths


def model_info(translator: Translator, source: str | os.PathLike[str] | None) -> str:
    """Markdown for the Model tab: classes, resolution, and where the weights came from."""
    names = translator.class_names
    lines = [
        f"**Resolution**: {translator.resolution} x {translator.resolution} px, **device**: {translator.device}",
        f"**Classes** ({len(names)}): " + ", ".join(f"{i} `{n}`" for i, n in enumerate(names)),
    ]
    if source is not None:
        from deepi2i.pretrained import resolve_model

        folder = resolve_model(source).resolve()
        lines.append(f"**Weights**: `{source}`" + (f" → `{folder}`" if str(folder) != str(source) else ""))
        config = folder / "config.json"
        if config.is_file():
            meta = json.loads(config.read_text(encoding="utf-8"))
            lines.append(f"exported by deepi2i {meta.get('deepi2i_version', '?')} as a {meta.get('kind', '?')} model")
        card = folder / "MODEL_CARD.md"
        if card.is_file():
            lines.append("\n---\n" + card.read_text(encoding="utf-8"))
    return "\n\n".join(lines)


def _shown(fn: F) -> F:
    """Turn user errors into Gradio errors: the page shows the message, the log gets no traceback."""
    import gradio as gr

    from deepi2i.data.images import ImageLoadError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RequestError, ImageLoadError, ValueError) as err:
            raise gr.Error(str(err), print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def offline_environment() -> None:
    """No telemetry, update check or Hugging Face lookups, and loopback never through a proxy:
    Gradio must start and serve on a machine without internet."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    for key in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(key, "").split(",") if h]
        os.environ[key] = ",".join(dict.fromkeys(hosts + ["localhost", "127.0.0.1", "::1"]))


def build_app(
    translator: Translator,
    limits: WebLimits | None = None,
    *,
    source: str | os.PathLike[str] | None = None,
) -> gr.Blocks:
    """The demo page (Translate, Interpolate, Model tabs) and the `/translate` API over one model.

    `source` is what the model was loaded from (shown in the Model tab). The app comes queued
    (bounded concurrency, bounded queue); start it with `launch_app` or Gradio's own `launch`.
    """
    offline_environment()
    import gradio as gr

    limits = limits or WebLimits()
    scratch = _Scratch()
    names = translator.class_names
    model_call = {"concurrency_limit": limits.concurrency, "concurrency_id": "model", "preprocess": False}

    def upload(image: object) -> Image.Image:
        return read_upload(upload_path(image), limits, translator.resolution)

    @_shown
    def run_translate(
        image: object, chosen: list[str] | None, every: bool, samples: object, seed: object, truncation: object
    ) -> tuple[Image.Image, list[tuple[Image.Image, str]], str]:
        if not every and not chosen:
            raise RequestError("choose at least one target class, or tick 'all classes'")
        result = translate_image(
            translator,
            upload(image),
            "all" if every else list(chosen or []),
            samples,
            seed,
            truncation,
            limits,
        )
        return result.grid, result.images, str(write_zip(result, names, scratch.new()))

    @_shown
    def run_interpolate(
        image: object, start: str, end: str, steps: object, seed: object, truncation: object
    ) -> tuple[str, str]:
        png, gif = interpolate_image(
            translator, upload(image), start, end, steps, seed, truncation, limits, scratch.new()
        )
        return str(png), str(gif)

    @_shown
    def api_translate(image: object, targets: str, samples: object, seed: object) -> Image.Image:
        """Translate one image; targets: 'all' or comma-separated class names or indices. Returns the grid."""
        return translate_image(translator, upload(image), str(targets or ""), samples, seed, None, limits).grid

    with gr.Blocks(title="deepi2i", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            f"## DeepI2I: translate an image into any of {len(names)} classes\n"
            "Upload an image (or pick an example), choose classes, press Translate."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.Image(
                    label="input image",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=260,
                    elem_id="input-image",
                )
                examples = render_examples(scratch.root / "examples")
                gr.Examples([[str(p)] for p in examples], inputs=image, example_labels=list(EXAMPLE_SHAPES))
                seed = gr.Number(0, precision=0, minimum=0, label="seed (same seed, same pixels)", elem_id="seed")
                truncation = gr.Slider(0, 2, 0, step=0.05, label="truncation (0 = off; lower = cleaner, less diverse)")
            with gr.Column(scale=2), gr.Tabs():
                with gr.Tab("Translate"):
                    with gr.Row():
                        chosen = gr.Dropdown(
                            names, value=[], multiselect=True, label="target classes", scale=3, elem_id="targets"
                        )
                        every = gr.Checkbox(True, label="all classes", scale=1, elem_id="all-classes")
                        samples = gr.Slider(
                            1, limits.max_samples, 1, step=1, label="samples per class", scale=2, elem_id="samples"
                        )
                    go = gr.Button("Translate", variant="primary", elem_id="translate-button")
                    grid = gr.Image(
                        label="grid: the input, then each class",
                        show_label=False,
                        type="pil",
                        format="png",
                        interactive=False,
                        elem_id="grid",
                        buttons=["download", "fullscreen"],
                    )
                    gallery = gr.Gallery(
                        label="single images",
                        show_label=False,
                        format="png",
                        columns=5,
                        height="auto",
                        elem_id="gallery",
                    )
                    bundle = gr.File(label="download all (grid + single images)", elem_id="download")
                with gr.Tab("Interpolate"):
                    with gr.Row():
                        start = gr.Dropdown(names, value=names[0], label="from class")
                        end = gr.Dropdown(names, value=names[-1], label="to class")
                        steps = gr.Slider(2, limits.max_steps, min(8, limits.max_steps), step=1, label="steps")
                    go_interp = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
                    strip = gr.Image(
                        label="strip",
                        type="filepath",
                        interactive=False,
                        elem_id="strip",
                        buttons=["download", "fullscreen"],
                    )
                    gif = gr.Image(
                        label="animation (GIF)", type="filepath", interactive=False, elem_id="gif", buttons=["download"]
                    )
                with gr.Tab("Model"):
                    gr.Markdown(model_info(translator, source), elem_id="model-info")

        # picking classes unticks 'all'; clearing them ticks it again
        chosen.input(lambda picked: not picked, chosen, every, queue=False, api_visibility="private")
        go.click(
            run_translate,
            [image, chosen, every, samples, seed, truncation],
            [grid, gallery, bundle],
            api_visibility="private",
            **model_call,
        )
        go_interp.click(
            run_interpolate,
            [image, start, end, steps, seed, truncation],
            [strip, gif],
            api_visibility="private",
            **model_call,
        )
        # the stable endpoint for programs, on hidden components of its own
        with gr.Row(visible=False):
            api_image = gr.Image(type="filepath", label="image")
            api_targets = gr.Textbox(label="targets")
            api_samples = gr.Number(1, precision=0, label="samples")
            api_seed = gr.Number(0, precision=0, label="seed")
            api_grid = gr.Image(type="pil", format="png", label="grid")
            api_button = gr.Button()
        api_button.click(
            api_translate, [api_image, api_targets, api_samples, api_seed], api_grid, api_name="translate", **model_call
        )
    app.queue(default_concurrency_limit=limits.concurrency, max_size=limits.queue_size)
    return app


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (localhost, 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch_app(app: gr.Blocks, host: str, port: int, limits: WebLimits, block: bool = True) -> str:
    """Start serving; returns the local URL. `block=False` returns at once (tests, benchmarks)."""
    if not is_loopback(host):
        warnings.warn(f"serving on {host}: anyone who can reach this machine can use the demo", stacklevel=2)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        share=False,
        show_error=False,
        max_file_size=limits.max_bytes,
        ssr_mode=False,
        prevent_thread_lock=not block,
        footer_links=["api"],
        css=CSS,
    )
    return url


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_process(
    model: str | os.PathLike[str],
    args: Sequence[str] = (),
    port: int | None = None,
    log: str | os.PathLike[str] | None = None,
    timeout: float = 120.0,
) -> Iterator[str]:
    """`deepi2i serve` in a child process on a loopback port, yielding its URL once it answers.

    Tests and the load benchmark use it to talk to a real server in its own process (its own
    interpreter lock), started exactly as a user starts it; stopped when the block ends.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "deepi2i", "serve", "--model", str(model), "--port", str(port), *args]
    log_path = Path(log) if log is not None else Path(tempfile.mkstemp(prefix="deepi2i-serve-", suffix=".log")[1])
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"deepi2i serve did not come up at {url}; its log:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def chromium_driver(width: int = 1280, height: int = 1000) -> Any:
    """Headless Debian `chromium` driven through `chromium-driver` by Selenium (tests, screenshots).

    Both come from apt (`apt-get install -y chromium chromium-driver`); FileNotFoundError if either
    is missing. SE_OFFLINE keeps Selenium Manager from looking for a browser or driver online.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        raise FileNotFoundError(
            "chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
        )
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    return driver


def loaded_image_size(driver: Any, selector: str) -> tuple[int, int] | None:
    """(width, height) of the first `selector` image once the browser has it, else None: what a
    page test waits on, since Gradio shows results as <img> elements that load after the event."""
    size = driver.execute_script(
        "const img = document.querySelector(arguments[0]);"
        "return img && img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null;",
        selector,
    )
    return (int(size[0]), int(size[1])) if size else None


def serve(
    model: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 7860,
    limits: WebLimits | None = None,
    device: str | None = None,
) -> None:
    """Load `model` once and serve the demo until interrupted (`deepi2i serve`)."""
    from deepi2i.translate import Translator

    limits = limits or WebLimits()
    translator = Translator.from_pretrained(model, device=device)
    launch_app(build_app(translator, limits, source=model), host, port, limits)
