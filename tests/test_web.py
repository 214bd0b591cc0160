"""The web demo (`deepi2i serve`): upload checks and the request functions without a server, the
`/translate` API through gradio_client, and the page itself in a real headless Chromium.

All offline, on a tiny random 32 px model saved as an export: random weights draw noise, but the
grid's size still says how many tiles the page got back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from deepi2i.cli import main
from deepi2i.translate import Translator
from deepi2i.visualize import header_height
from deepi2i.web import (
    RequestError,
    WebLimits,
    chromium_driver,
    is_loopback,
    loaded_image_size,
    read_upload,
    server_process,
    translate_image,
    upload_path,
    whole_number,
    write_zip,
)
from tests import test_translate

# the translate tests' tiny random 32 px export (classes cat, Dog, red fox), as a fixture of this module too
export = test_translate.export
R = test_translate.R
PADDING = 2  # translation_grid's default


@pytest.fixture(scope="module")
def translator(export: Path, one_thread: None) -> Translator:
    return Translator.from_pretrained(export, device="cpu")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A good photo-like PNG and every kind of bad upload the page must explain."""
    root = tmp_path_factory.mktemp("uploads")
    rng = np.random.default_rng(0)
    paths = {name: root / name for name in ("photo.png", "notes.png", "big.png", "anim.gif", "float.tif", "rgba.png")}
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(paths["photo.png"])
    paths["notes.png"].write_text("not an image, whatever the name says")
    Image.new("L", (300, 200)).save(paths["big.png"])
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    frames[0].save(paths["anim.gif"], save_all=True, append_images=frames[1:])
    Image.fromarray(rng.random((16, 16), dtype=np.float32), "F").save(paths["float.tif"])
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(paths["rgba.png"])
    return paths


def grid_tiles(size: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) of tiles in a labelled `translation_grid` image of R px tiles."""
    width, height = size
    cols, extra_w = divmod(width - PADDING, R + PADDING)
    rows, extra_h = divmod(height - header_height() - PADDING, R + PADDING)
    assert (extra_w, extra_h) == (0, 0), f"{size} is not a grid of {R} px tiles"
    return cols, rows


# ---- checks and requests, no server ------------------------------------------------------------


def test_read_upload_accepts_images_and_converts_to_rgb(files: dict[str, Path]):
    assert read_upload(files["photo.png"], WebLimits()).size == (48, 40)
    rgba = read_upload(files["rgba.png"], WebLimits())
    assert rgba.mode == "RGB" and rgba.getpixel((0, 0)) == (255, 255, 255)  # transparent -> white


@pytest.mark.parametrize(
    ("name", "limits", "message"),
    [
        ("notes.png", WebLimits(), "not an image"),
        (
            "big.png",
            WebLimits(max_pixels=300 * 200 - 1),
            "the image is too large: 300x200 pixels; the limit is 59,999 pixels",
        ),
        ("photo.png", WebLimits(max_bytes=100), "the file is too large"),
        ("anim.gif", WebLimits(), "animated images are not supported (2 frames)"),
        ("float.tif", WebLimits(), "unsupported pixel mode 'F'"),
    ],
)
def test_read_upload_refuses_bad_files_with_a_message(
    files: dict[str, Path], name: str, limits: WebLimits, message: str
):
    with pytest.raises(RequestError, match=re.escape(message)):
        read_upload(files[name], limits)


def test_whole_numbers_from_forms():
    assert whole_number(2.0, "samples", 1, 8) == 2
    assert whole_number("3", "samples", 1, 8) == 3
    for bad, message in [(2.5, "whole number"), ("x", "whole number"), (9, "between 1 and 8"), (None, "whole")]:
        with pytest.raises(RequestError, match=message):
            whole_number(bad, "samples", 1, 8)
    with pytest.raises(ValueError, match="max_samples"):
        WebLimits(max_samples=0)


def test_translate_image_matches_the_python_api_and_lays_out_the_grid(
    translator: Translator, files: dict[str, Path], tmp_path: Path
):
    image = read_upload(files["photo.png"], WebLimits())
    result = translate_image(translator, image, "red fox,0", samples=2, seed=7)
    assert grid_tiles(result.grid.size) == (1 + 2 * 2, 1)
    assert [caption for _, caption in result.images] == ["red fox #0", "red fox #1", "cat #0", "cat #1"]
    expected = translator(image, to=[2, 0], samples=2, seed=7)[0]
    assert np.array_equal(np.asarray(result.images[1][0]), np.asarray(expected[0][1]))
    import zipfile

    with zipfile.ZipFile(write_zip(result, translator.class_names, tmp_path)) as z:
        assert sorted(z.namelist()) == sorted(
            ["grid.png"] + [f"input__to_{c}__s{k}.png" for c in ("red_fox", "cat") for k in range(2)]
        )


def test_a_jpeg_upload_gives_the_pixels_of_deepi2i_translate(translator: Translator, tmp_path: Path):
    """The page decodes JPEGs at the loader's reduced scale, as the CLI does from the file."""
    path = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (160, 200, 3), dtype=np.uint8)).save(path)
    result = translate_image(translator, read_upload(path, WebLimits(), draft_size=R), "all", seed=3)
    expected = translator(str(path), to="all", seed=3)[0]
    for (image, _), want in zip(result.images, expected, strict=True):
        assert np.array_equal(np.asarray(image), np.asarray(want[0]))


def test_translate_image_refuses_unknown_classes_and_too_much_work(translator: Translator, files: dict[str, Path]):
    image = read_upload(files["photo.png"], WebLimits())
    with pytest.raises(ValueError, match="unknown class 'wolf'"):
        translate_image(translator, image, "wolf")
    with pytest.raises(RequestError, match="3 classes x 2 samples = 6 images; this server makes at most 5"):
        translate_image(translator, image, "all", samples=2, limits=WebLimits(max_outputs=5))
    with pytest.raises(RequestError, match="samples must be between 1 and 8"):
        translate_image(translator, image, "all", samples=9)


def test_form_values_and_addresses():
    assert upload_path({"path": "/tmp/x.png", "url": None}) == "/tmp/x.png"
    with pytest.raises(RequestError, match="no image"):
        upload_path(None)
    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2")] == [True] * 4
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "example.com"))


def test_serve_without_gradio_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else find_spec(name, *a))
    assert main(["serve", "--model", "anything"]) == 2
    assert 'needs Gradio: pip install -e ".[web]"' in capsys.readouterr().err


# ---- a running server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`deepi2i serve` on a free loopback port, as a user starts it (the model loads once)."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")
        env.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        with server_process(export, ["--device", "cpu"], log=log) as url:
            yield url


def test_api_translate_returns_the_grid_and_clear_errors(server: str, files: dict[str, Path]):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(server, analytics_enabled=False, verbose=False)
    grid = client.predict(handle_file(str(files["photo.png"])), "Dog,2", 3, 0, api_name="/translate")
    assert grid_tiles(Image.open(grid).size) == (1 + 2 * 3, 1)
    with pytest.raises(AppError, match="unknown class 'wolf'"):
        client.predict(handle_file(str(files["photo.png"])), "wolf", 1, 0, api_name="/translate")
    with pytest.raises(AppError, match="animated images are not supported"):
        client.predict(handle_file(str(files["anim.gif"])), "all", 1, 0, api_name="/translate")


# ---- the page in headless Chromium -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium + chromium-driver through Selenium; nothing is downloaded."""
    try:
        driver = chromium_driver()
    except FileNotFoundError as err:
        if os.environ.get("CI"):
            pytest.fail(f"{err}; CI must run the browser test")
        pytest.skip(f"{err}; skipped outside CI only (CI is not set)")
    yield driver
    driver.quit()


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = 45.0) -> Any:
    """Selenium's wait: poll `condition(driver)` until it returns something truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition, f"waiting for {what}")


def open_page(driver: Any, url: str, upload: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-image input[type=file]"), "the upload box")
    driver.find_element(By.CSS_SELECTOR, "#input-image input[type=file]").send_keys(str(upload))


def page_text(driver: Any) -> str:
    return str(driver.execute_script("return document.body.innerText"))


def test_browser_translates_an_upload_into_picked_classes(browser: Any, server: str, files: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    open_page(driver, server, files["photo.png"])
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-image img"), "the upload preview")
    picker = driver.find_element(By.CSS_SELECTOR, "#targets input")
    for name in ("red fox", "cat"):
        picker.click()
        picker.send_keys(name)
        picker.send_keys(Keys.ENTER)
    wait_for(
        driver, lambda d: not d.find_element(By.CSS_SELECTOR, "#all-classes input").is_selected(), "'all' unticked"
    )
    samples = driver.find_element(By.CSS_SELECTOR, "#samples input[type=number]")
    samples.send_keys(Keys.CONTROL, "a")
    samples.send_keys("2", Keys.TAB)
    driver.find_element(By.CSS_SELECTOR, "#translate-button").click()

    size = wait_for(driver, lambda d: loaded_image_size(d, "#grid img"), "the result grid")
    assert grid_tiles(size) == (1 + 2 * 2, 1)  # the input, then 2 classes x 2 samples
    gallery = driver.find_elements(By.CSS_SELECTOR, "#gallery img")
    assert len(gallery) == 4
    # a screenshot of this page on request (benchmarks/web_screenshot.py makes docs/images/web_demo.png)
    if os.environ.get("DEEPI2I_SCREENSHOT"):
        driver.save_screenshot(os.environ["DEEPI2I_SCREENSHOT"])


def test_browser_explains_a_bad_upload(browser: Any, server: str, files: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_page(driver, server, files["notes.png"])
    driver.find_element(By.CSS_SELECTOR, "#translate-button").click()
    wait_for(driver, lambda d: "not an image" in page_text(d), "the bad-upload message")
    assert "Traceback" not in page_text(driver)


def test_browser_interpolates_between_two_classes(browser: Any, server: str, files: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_page(driver, server, files["photo.png"])
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-image img"), "the upload preview")
    driver.find_element(By.XPATH, "//button[@role='tab'][normalize-space()='Interpolate']").click()
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#interpolate-button").is_displayed(), "the tab")
    driver.find_element(By.CSS_SELECTOR, "#interpolate-button").click()
    size = wait_for(driver, lambda d: loaded_image_size(d, "#strip img"), "the interpolation strip")
    assert grid_tiles(size) == (1 + 8, 1)  # the input, then the default 8 steps
    assert wait_for(driver, lambda d: loaded_image_size(d, "#gif img"), "the GIF") == (R, R)
