"""What the HTTP API adds to a chat turn: the same recommendations-only turns through `Engine.chat` and through
POST /api/v1/chat, in one run (the same-run baseline).

    python benchmarks/api_overhead.py [--turns 200] [--warmup 20] [--runs 3] [--data-dir .bench/api-overhead]

One process: the bundled catalog with no generator (template replies, so that what is timed is ranking plus the
API, not text generation), and the real app (`app.create`: UI and API, as `python app.py` serves it) on a loopback
port in a background thread, reached with a keep-alive httpx client (JSON answers). Each turn sends one message to
two users with the same history, directly and over HTTP, the side that goes first alternating; conversations are
four messages, then new users. Every conversation is played once beforehand, so both sides find every text's
embedding cached, and users are forgotten only at the end of a run (forgetting empties the caches). Prints, per run
and as the median over runs, p50/p95 in ms of each side, of the per-turn difference (HTTP minus direct), and of
the API's share inside each request (HTTP minus the `Engine.chat` call that request made: the difference without
the turn-to-turn jitter of the engine itself); last, one JSON line. The target: p95 at most 20 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHATREC_MODELS_DIR", str(ROOT / ".chatrec" / "models"))

import httpx  # noqa: E402

from chatrec import Engine, Settings  # noqa: E402
from chatrec.catalog.resources import knowledge_dir  # noqa: E402
from chatrec.serve import web  # noqa: E402

TARGET_P95_MS = 20.0
# direct: Engine.chat; http: POST /api/v1/chat; overhead: http - direct, per turn (paired: the same message and
# history); in_request: http - the Engine.chat call inside that same request (no pairing, so no turn-to-turn noise)
FIGURES = ("direct", "http", "overhead", "in_request")
CONVERSATIONS = [  # English and Chinese, four messages each: openings, follow-ups, critiques, constraints
    ["I love space exploration films", "more space films please", "something less serious", "any animated ones?"],
    ["Recommend some science fiction novels", "something shorter", "by a woman author", "more like the first one"],
    ["A funny TV series", "no crime please", "something British", "any others?"],
    ["I love horror movies", "Actually I'm tired of scary stuff", "light-hearted family comedies", "more of those"],
    ["推荐几本科幻小说", "再来几本", "不要太长的", "有没有中国作家写的"],
    ["我喜欢太空探索的电影", "再来几部太空电影", "不要恐怖片", "有动画片吗"],
    ["Something like The Godfather", "less violent", "from the nineties", "any series like that?"],
    ["Detective novels please", "something darker", "set in Scandinavia", "other authors"],
    ["适合全家看的电影", "有没有喜剧", "再来几部", "国产的"],
    ["Feel-good sports movies", "about football", "something older", "any documentaries?"],
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_app() -> Any:
    """app.py as a module (a script beside the package)."""
    spec = importlib.util.spec_from_file_location("chatrec_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class ClockedChat:
    """`Engine.chat` that keeps how long its last call took, set on the engine so that the API's route (which looks
    `engine.chat` up on each request) calls it too: the HTTP time minus this is the API's own share of a request."""

    def __init__(self, engine: Engine) -> None:
        self.inner, self.last = engine.chat, 0.0
        engine.chat = self  # type: ignore[method-assign]

    def __call__(self, user: str, message: str) -> Any:
        start = time.perf_counter()
        try:
            return self.inner(user, message)
        finally:
            self.last = time.perf_counter() - start


class Sides:
    """The two ways to send a turn: `Engine.chat` for a user id, and POST /api/v1/chat for a session."""

    def __init__(self, engine: Engine, api: httpx.Client) -> None:
        self.engine, self.api = engine, api
        self.clock = ClockedChat(engine)
        self.direct_users: list[str] = []
        self.sessions: list[dict[str, str]] = []

    def new_users(self) -> tuple[str, dict[str, str]]:
        user = f"bench-{uuid.uuid4().hex[:12]}"
        token = self.api.post("/sessions", json={}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        self.direct_users.append(user)
        self.sessions.append(headers)
        return user, headers

    def direct(self, user: str, message: str) -> float:
        start = time.perf_counter()
        turn = self.engine.chat(user, message)
        seconds = time.perf_counter() - start
        assert turn.recommendations, message
        return seconds

    def http(self, headers: dict[str, str], message: str) -> tuple[float, float]:
        """The seconds of the whole request, and of the `Engine.chat` call inside it."""
        start = time.perf_counter()
        answer = self.api.post("/chat", json={"message": message}, headers=headers)
        body = answer.json()
        seconds = time.perf_counter() - start
        assert answer.status_code == 200 and body["recommendations"], (answer.status_code, body)
        return seconds, self.clock.last

    def forget_all(self) -> None:
        for user in self.direct_users:
            self.engine.forget(user)
        for headers in self.sessions:
            self.api.delete("/profile", headers=headers)
        self.direct_users, self.sessions = [], []


def schedule(turns: int) -> list[tuple[int, str]]:
    """`turns` (conversation number, message) pairs, the conversations cycled."""
    cycle = itertools.cycle(enumerate(CONVERSATIONS))
    out: list[tuple[int, str]] = []
    for number in itertools.count():
        _, messages = next(cycle)
        out += [(number, m) for m in messages]
        if len(out) >= turns:
            return out[:turns]
    return out


def run(sides: Sides, turns: int, warmup: int) -> dict[str, Any]:
    """One run: `warmup` untimed turns, then `turns` timed ones; the p50/p95 of each side and of the difference."""
    times: dict[str, list[float]] = {name: [] for name in FIGURES}
    users: dict[int, tuple[str, dict[str, str]]] = {}
    for i, (conversation, message) in enumerate(schedule(warmup + turns)):
        user, headers = users.get(conversation) or users.setdefault(conversation, sides.new_users())
        if i % 2:  # alternate who goes first, so neither side is always the one that meets the state first
            http, inside = sides.http(headers, message)
            direct = sides.direct(user, message)
        else:
            direct = sides.direct(user, message)
            http, inside = sides.http(headers, message)
        if i >= warmup:
            times["direct"].append(direct * 1000)
            times["http"].append(http * 1000)
            times["overhead"].append((http - direct) * 1000)
            times["in_request"].append((http - inside) * 1000)
    sides.forget_all()
    return {
        name: {"p50": round(statistics.median(v), 2), "p95": round(percentile(v, 0.95), 2)} for name, v in times.items()
    }


def warm_caches(engine: Engine) -> None:
    """Play every conversation once (untimed), so that every text it brings is embedded and cached."""
    for messages in CONVERSATIONS:
        user = f"bench-warm-{uuid.uuid4().hex[:12]}"
        for message in messages:
            engine.chat(user, message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="timed turns per run (each sent both ways)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed turns at the start of each run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench" / "api-overhead")
    args = parser.parse_args()
    settings = Settings(
        data_dir=args.data_dir, catalog=knowledge_dir(), generator="none", chat_per_minute=1_000_000
    )  # the rate limit is not what is measured
    engine = Engine.load(settings, progress=True)
    running = web.start(load_app().create(engine), "127.0.0.1", free_port())
    results = []
    try:
        with httpx.Client(base_url=running.url + "api/v1", timeout=60) as api:
            warm_caches(engine)
            sides = Sides(engine, api)
            for number in range(1, args.runs + 1):
                results.append(run(sides, args.turns, args.warmup))
                print(
                    f"run {number}: "
                    + "; ".join(
                        f"{name} p50 {r['p50']:.2f} ms p95 {r['p95']:.2f} ms" for name, r in results[-1].items()
                    ),
                    flush=True,
                )
    finally:
        running.stop()
        engine.close()
    median = {
        name: {q: round(statistics.median(r[name][q] for r in results), 2) for q in ("p50", "p95")} for name in FIGURES
    }
    met = {name: median[name]["p95"] <= TARGET_P95_MS for name in ("overhead", "in_request")}
    print(
        f"median of {args.runs} runs of {args.turns} turns: "
        + "; ".join(f"{name} p50 {r['p50']:.2f} ms p95 {r['p95']:.2f} ms" for name, r in median.items())
    )
    print(
        f"target p95 <= {TARGET_P95_MS:.0f} ms: "
        + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in met.items())
    )
    print(
        json.dumps(
            {
                "benchmark": "api_overhead",
                "catalog": "bundled",
                "generator": "none",
                "turns": args.turns,
                "runs": args.runs,
                "cpus": os.cpu_count(),
                "threads": settings.threads,
                "ms": median,
                "per_run_ms": results,
                "target_p95_ms": TARGET_P95_MS,
                "met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
