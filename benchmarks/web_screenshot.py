"""README's screenshot of the web demo, taken by headless Chromium (docs/images/web_demo.png).

Starts `deepi2i serve --model MODEL`, picks a bundled example, translates it into all classes and
saves the page, reduced to a 256-colour PNG so it stays small in the repository:

    python benchmarks/web_screenshot.py --model shapes --out docs/images/web_demo.png
"""

from __future__ import annotations

import argparse
import io
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="shapes", help="export folder or shipped name (default shapes)")
    parser.add_argument("--out", default="docs/images/web_demo.png", help="PNG to write")
    parser.add_argument("--example", default="circle", help="bundled example to translate (default circle)")
    parser.add_argument("--size", default="1100x900", metavar="WxH", help="browser window (default 1100x900)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from deepi2i.web import chromium_driver, loaded_image_size, server_process

    with server_process(args.model) as url:
        driver = chromium_driver(width, height)
        try:
            driver.get(url)
            wait = WebDriverWait(driver, 60, poll_frequency=0.2)
            wait.until(lambda d: d.find_elements(By.XPATH, f"//button[normalize-space()='{args.example}']"))
            driver.find_element(By.XPATH, f"//button[normalize-space()='{args.example}']").click()
            wait.until(lambda d: loaded_image_size(d, "#input-image img"), "waiting for the example")
            driver.find_element(By.CSS_SELECTOR, "#translate-button").click()
            wait.until(lambda d: loaded_image_size(d, "#grid img"), "waiting for the grid")
            wait.until(lambda d: loaded_image_size(d, "#gallery img"), "waiting for the single images")
            png = driver.get_screenshot_as_png()
        finally:
            driver.quit()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(args.out, optimize=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KB)")


if __name__ == "__main__":
    main()
