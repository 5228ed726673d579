"""Several browser users at once: each gets a generated reply, or the template at once with the busy state.

    python benchmarks/concurrency.py [--users 3] [--rounds 3] [--port 7993]

Starts `app.py` on loopback (bundled catalog, default generator, its own data folder under .bench/), opens one
headless Chromium page per user (Debian's /usr/bin/chromium through Playwright), and in each round has every user
send a message at the same moment. For every reply it records the time from sending to the finished reply, whether
the reply kept generated text, and whether the page showed the busy state. Prints p50/p95 of the time to a complete
reply per kind of reply and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    ["I love space exploration films", "A funny TV series, but no horror", "我喜欢武侠小说"],
    ["Something like The Godfather", "推荐几部科幻电影", "Feel-good sports movies"],
    ["Detective novels please", "想看一部好笑的喜剧片", "Documentaries about nature"],
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def start_app(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "CHATREC_DATA_DIR": str(data_dir),
        "CHATREC_MODELS_DIR": str(ROOT / ".chatrec" / "models"),
        "CHATREC_THREADS": "1",
    }
    app = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return app
        except OSError:
            if app.poll() is not None:
                raise SystemExit("app.py exited before serving") from None
            time.sleep(1)
    app.kill()
    raise SystemExit("app.py did not serve within 15 minutes")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=7993)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench" / "concurrency")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    app = start_app(args.port, args.data_dir)
    results: list[dict[str, Any]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            pages = []
            for _ in range(args.users):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"http://127.0.0.1:{args.port}/", wait_until="load")
                page.locator("#message textarea").wait_for(state="visible", timeout=60_000)
                pages.append(page)
            for r in range(args.rounds):
                # Playwright's sync pages belong to this thread: every box is filled first, then all are sent
                # within a few milliseconds, then every page is watched until its reply is done
                messages = [MESSAGES[u % len(MESSAGES)][r % 3] for u in range(len(pages))]
                for page, message in zip(pages, messages):
                    page.locator("#message textarea").fill(message)
                sent = []
                for page in pages:
                    page.locator("#message textarea").press("Enter")
                    sent.append(time.monotonic())
                watch(pages, sent, r + 1, results, messages)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=60)
    report(results, args)


def watch(pages: list[Any], sent: list[float], turn: int, out: list[dict[str, Any]], messages: list[str]) -> None:
    """Poll every page until each has finished turn `turn`; note each one's time, source and busy state."""
    pending = dict(enumerate(pages))
    busy = {i: False for i in pending}
    writing = {i: False for i in pending}  # the previous turn's "done" must not count: wait for this one to start
    deadline = time.monotonic() + 180
    while pending and time.monotonic() < deadline:
        for i, page in list(pending.items()):
            status = page.locator("#status .status").first
            state = status.get_attribute("data-state")
            writing[i] = writing[i] or state == "writing"
            if writing[i]:  # the previous turn's busy line, still shown until this one starts, must not count
                busy[i] = busy[i] or status.get_attribute("data-busy") == "true"
            if writing[i] and page.locator('#chat [data-testid="bot"]').count() >= turn and state == "done":
                out.append(
                    {
                        "user": i,
                        "message": messages[i],
                        "seconds": round(time.monotonic() - sent[i], 2),
                        "busy": busy[i],
                        "source": status.get_attribute("data-source"),
                    }
                )
                del pending[i]
        time.sleep(0.05)
    for i in pending:
        out.append({"user": i, "message": messages[i], "seconds": None, "busy": busy[i], "source": "timeout"})


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    done = [r for r in results if r["seconds"] is not None]
    groups = {
        "generated": [r["seconds"] for r in done if r["source"] == "generator"],
        "busy template": [r["seconds"] for r in done if r["busy"]],
        "other template": [r["seconds"] for r in done if r["source"] != "generator" and not r["busy"]],
        "all": [r["seconds"] for r in done],
    }
    for name, values in groups.items():
        if values:
            print(
                f"{name}: {len(values)} replies, time to a complete reply p50 {statistics.median(values):.2f}s "
                f"p95 {percentile(values, 0.95):.2f}s"
            )
    unanswered = [r for r in results if r["seconds"] is None]
    print(f"unanswered: {len(unanswered)}")
    print(
        json.dumps(
            {
                "benchmark": "concurrency",
                "users": args.users,
                "rounds": args.rounds,
                "p95_complete_s": percentile(groups["all"], 0.95) if groups["all"] else None,
                "replies": results,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
