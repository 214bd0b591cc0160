"""Load check for `deepi2i serve`: N concurrent calls of the `/translate` API on localhost.

Fires every request at once (a barrier releases the threads together) through gradio_client, the
way programs call the demo, and reports errors and latency (submit -> grid received): the queue
must take them all without dropping one, and p95 says how long the last in line waits.

    python benchmarks/web_load.py --model shapes                  # starts its own server
    python benchmarks/web_load.py --url http://127.0.0.1:7860/    # a server already running

Only loopback URLs are accepted: this is not a tool for loading other people's servers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from urllib.parse import urlparse

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="shapes", help="export folder or shipped name to serve (default shapes)")
    parser.add_argument("--url", help="an already running demo on this machine (then --model is not used)")
    parser.add_argument("--requests", type=int, default=50, help="concurrent requests (default 50, at most 200)")
    parser.add_argument("--targets", default="all", help="targets of every request (default all)")
    parser.add_argument("--samples", type=int, default=1, help="samples per class (default 1)")
    parser.add_argument("--image", help="input image (default: a Shapes image rendered now)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    parser.add_argument("--serve-args", default="", help="extra `deepi2i serve` options, e.g. '--concurrency 2'")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    if not 1 <= args.requests <= 200:
        parser.error("--requests must be between 1 and 200")

    from gradio_client import Client, handle_file

    from deepi2i.web import is_loopback, render_examples, server_process

    if args.url and not is_loopback(urlparse(args.url).hostname or ""):
        parser.error(f"{args.url} is not a loopback address (localhost, 127.x, ::1)")
    image = args.image or str(render_examples(Path(tempfile.mkdtemp()))[0])
    server: AbstractContextManager[str] = (
        nullcontext(args.url)
        if args.url
        else server_process(args.model, args.serve_args.split() + ["--queue-size", str(max(64, args.requests))])
    )
    with server as url:
        client = Client(url, analytics_enabled=False, verbose=False, max_workers=args.requests)
        barrier = threading.Barrier(args.requests)

        def one(i: int) -> float:
            barrier.wait()
            start = time.perf_counter()
            client.predict(handle_file(image), args.targets, args.samples, i, api_name="/translate")
            return time.perf_counter() - start

        began = time.perf_counter()
        with ThreadPoolExecutor(args.requests) as pool:
            futures = [pool.submit(one, i) for i in range(args.requests)]
            done, pending = wait(futures, timeout=args.timeout)
            for f in pending:
                f.cancel()
        wall = time.perf_counter() - began
    latencies = [f.result() for f in done if f.exception() is None]
    errors = [repr(f.exception()) for f in done if f.exception() is not None]
    result = {
        "requests": args.requests,
        "ok": len(latencies),
        "errors": len(errors) + len(pending),
        "timed_out": len(pending),
        "median_s": statistics.median(latencies) if latencies else None,
        "p95_s": percentile(latencies, 95) if latencies else None,
        "max_s": max(latencies) if latencies else None,
        "wall_s": wall,
        "model": args.url or args.model,
        "targets": args.targets,
        "samples": args.samples,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    for line in errors[:5]:
        print("error:", line)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
