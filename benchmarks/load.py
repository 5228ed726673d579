"""Load and soak on the several-process deployment (docs/deploy.md): PostgreSQL, a Chroma server, llama.cpp's server
and `chatrec serve --workers 2`, all started here on loopback (benchmarks/stack.py). Many users chat at once over
HTTP, each a bounded number of turns streamed as server-sent events; afterwards every user's stored events must be
exactly its own answered turns, in order.

    python benchmarks/load.py                          # 50 users x 4 turns on 2 workers (docs/deploy.md, "Load")
    python benchmarks/load.py --users 200 --turns 10   # the soak: 2,000 turns, workers' memory over time

Prints the answers by status, p50/p95 of each stage as the user meets it (cards: the recommendations event; first
text; full reply), how many replies were generated, templated or busy, each worker's RSS after warm-up and at the
end, and the check of the stored events. `--baseline` also measures one in-process server with the model loaded
(today's single process) for its RSS beside a worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BIN, MODELS, QUIET_ENV, ROOT, Stack, free_port, rss_mb, stack  # noqa: E402

# What people ask, in both languages: an opening and follow-ups that refine, shift, avoid and constrain.
OPENINGS = [
    "I love space exploration films",
    "a funny heist movie for tonight",
    "something like Spirited Away",
    "我想看科幻电影",
    "推荐一部感人的动画片",
    "a scary movie but not too gory",
    "crime dramas from the 90s",
    "有没有好看的喜剧",
]
FOLLOW_UPS = [
    "something funnier",
    "not too long",
    "more like the first one",
    "换一个轻松一点的",
    "no horror please",
    "older ones",
    "不要太长的",
    "any with a female lead?",
    "what else?",
]


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    stages: dict[str, list[float]] = field(default_factory=lambda: {"cards": [], "first_text": [], "full_reply": []})
    retry_after_missing: int = 0
    done_turns: int = 0


@dataclass
class User:
    index: int
    token: str = ""
    answered: list[str] = field(default_factory=list)  # messages whose turn was answered 200, in order
    unknown: list[str] = field(default_factory=list)  # sent, but the connection broke before the answer


def script(index: int, turns: int) -> list[str]:
    rng = random.Random(index)
    return [OPENINGS[index % len(OPENINGS)], *rng.sample(FOLLOW_UPS, k=min(turns - 1, len(FOLLOW_UPS)))][:turns]


async def one_turn(client: httpx.AsyncClient, api: str, user: User, message: str, tally: Tally) -> bool:
    """One streamed turn; True when answered. 429/503 are retried after their Retry-After (they must carry one)."""
    for _ in range(20):
        began = time.perf_counter()
        seen: dict[str, float] = {}
        try:
            async with client.stream(
                "POST",
                api + "/chat",
                json={"message": message},
                headers={"Authorization": f"Bearer {user.token}", "Accept": "text/event-stream"},
            ) as answer:
                if answer.status_code != 200:
                    await answer.aread()
                    tally.statuses[str(answer.status_code)] += 1
                    if answer.status_code in (429, 503):
                        wait = answer.headers.get("Retry-After")
                        tally.retry_after_missing += wait is None
                        await asyncio.sleep(min(float(wait or 5), 10))
                        continue
                    return False
                event = ""
                async for line in answer.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                        now = time.perf_counter() - began
                        if event == "recommendations":
                            seen.setdefault("cards", now)
                        elif event == "delta":
                            seen.setdefault("first_text", now)
                    elif line.startswith("data:") and event == "final":
                        seen["full_reply"] = time.perf_counter() - began
                        final = json.loads(line[5:])
                        tally.sources["busy" if final.get("busy") else final.get("source", "?")] += 1
                    elif line.startswith("data:") and event == "error":
                        tally.statuses["stream error"] += 1
                        return False
        except httpx.HTTPError as exc:
            tally.statuses[f"connection: {type(exc).__name__}"] += 1
            user.unknown.append(message)
            return False
        tally.statuses["200"] += 1
        seen.setdefault("first_text", seen.get("full_reply", 0.0))  # a template reply comes whole in the final
        for stage, seconds in seen.items():
            tally.stages[stage].append(seconds)
        user.answered.append(message)
        tally.done_turns += 1
        return True
    return False


async def run_user(
    client: httpx.AsyncClient, api: str, user: User, turns: int, tally: Tally, think_s: float = 0.0
) -> None:
    answer = await client.post(api + "/sessions", json={})
    user.token = answer.json()["token"]
    for n, message in enumerate(script(user.index, turns)):
        if n and think_s:
            await asyncio.sleep(random.uniform(0.5, 1.5) * think_s)  # reading the reply before the next message
        await one_turn(client, api, user, message, tally)


async def drive(api: str, users: list[User], turns: int, concurrency: int, tally: Tally, think_s: float = 0.0) -> None:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0), limits=limits) as client:

        async def gated(user: User) -> None:
            async with gate:
                await run_user(client, api, user, turns, tally, think_s)

        await asyncio.gather(*(gated(u) for u in users))


def check_events(api: str, users: list[User]) -> dict[str, int]:
    """Every user's stored messages are exactly its answered turns, in order (a turn cut by a broken connection may
    or may not have been committed: counted apart), and one `shown` event per answered turn."""
    out = Counter[str]()
    with httpx.Client(timeout=60) as client:
        for user in users:
            events = client.get(api + "/profile/export", headers={"Authorization": f"Bearer {user.token}"}).json()
            said = [e["payload"]["text"] for e in events["events"] if e["kind"] == "message"]
            shown = sum(e["kind"] == "shown" for e in events["events"])
            exact = said == user.answered and shown == len(user.answered)
            out["users exact"] += exact
            if not exact and user.unknown:
                out["users with a cut turn"] += 1
            elif not exact:
                out["users wrong"] += 1
            out["lost events"] += max(0, len(user.answered) - len([m for m in said if m in user.answered]))
    return dict(out)


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def sample_rss(
    the_stack: Stack, every_s: float, samples: list[tuple[float, dict[int, float]]], stop: list[bool]
) -> None:
    began = time.monotonic()
    while not stop:
        samples.append((time.monotonic() - began, the_stack.worker_rss()))
        time.sleep(every_s)


def baseline_rss(catalog: Path) -> float:
    """RSS of today's single process (`chatrec serve`, embedded Chroma, the model in process) after one turn."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"chatrec-baseline-{os.getpid()}"
    port = free_port()
    env = {**os.environ, **QUIET_ENV, "CHATREC_THREADS": "1", "CHATREC_MODELS_DIR": str(MODELS)}
    command = [str(BIN / "chatrec"), "serve", "--port", str(port), "--data-dir", str(folder), "--catalog", str(catalog)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                if httpx.get(api + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        token = httpx.post(api + "/sessions", json={}).json()["token"]
        httpx.post(
            api + "/chat",
            json={"message": OPENINGS[0]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        )
        return rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        subprocess.run(["rm", "-rf", str(folder)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4, help="turns each user takes")
    parser.add_argument("--concurrency", type=int, default=50, help="users chatting at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think-s", type=float, default=0.0, help="a user's pause between turns (0.5x to 1.5x of it; default none)"
    )
    parser.add_argument("--catalog", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--no-generator-server", action="store_true", help="template replies only")
    parser.add_argument("--baseline", action="store_true", help="also measure today's single process's RSS")
    parser.add_argument("--per-minute", type=int, default=30, help="CHATREC_CHAT_PER_MINUTE (the default)")
    args = parser.parse_args()
    users = [User(i) for i in range(args.users)]
    tally = Tally()
    settings = {"CHATREC_CHAT_PER_MINUTE": str(args.per_minute)}
    with stack(args.catalog, args.workers, not args.no_generator_server, settings) as running:
        print(f"started: {', '.join(f'{k} {v:.1f} s' for k, v in running.timings.items())}", flush=True)
        warm = asyncio.run(_warm(running.api, not args.no_generator_server))
        samples: list[tuple[float, dict[int, float]]] = []
        stop: list[bool] = []
        import threading

        sampler = threading.Thread(target=sample_rss, args=(running, 5.0, samples, stop), daemon=True)
        began = time.monotonic()
        sampler.start()
        asyncio.run(drive(running.api, users, args.turns, args.concurrency, tally, args.think_s))
        stop.append(True)
        sampler.join()
        wall = time.monotonic() - began
        checked = check_events(running.api, users)
        end_rss = running.worker_rss()
    report(args, tally, wall, warm, samples, end_rss, checked)
    if args.baseline:
        print(f"today's single process (model in process), RSS after one turn: {baseline_rss(args.catalog):.0f} MB")


async def _warm(api: str, generated: bool) -> float:
    """A few turns before the clock starts (models read, caches built), and with a generator server until one
    reply is generated (the server has read the prompts' shared opening), up to a minute; its seconds."""
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=300) as client:
        for n in range(30):
            token = (await client.post(api + "/sessions", json={})).json()["token"]
            answer = await client.post(
                api + "/chat", json={"message": "I love space films"}, headers={"Authorization": f"Bearer {token}"}
            )
            done = not generated or answer.json().get("source") == "generator"
            if n >= 3 and (done or time.monotonic() - began > 60):
                break
            await asyncio.sleep(1.0)
    return time.monotonic() - began


def report(
    args: argparse.Namespace,
    tally: Tally,
    wall: float,
    warm: float,
    samples: list[tuple[float, dict[int, float]]],
    end_rss: dict[int, float],
    checked: dict[str, int],
) -> None:
    think = f", {args.think_s:g} s between a user's turns" if args.think_s else ""
    print(f"\n{args.users} users x {args.turns} turns, {args.concurrency} at once, {args.workers} workers{think}")
    print(
        f"turns answered: {tally.done_turns} in {wall:.0f} s ({tally.done_turns / wall:.2f} turns/s); "
        f"warm-up {warm:.0f} s"
    )
    print("answers:", dict(tally.statuses), f"(429/503 without Retry-After: {tally.retry_after_missing})")
    print("replies:", dict(tally.sources))
    for stage, values in tally.stages.items():
        if values:
            print(
                f"  {stage:<11} p50 {statistics.median(values):6.2f} s   p95 {pct(values, 0.95):6.2f} s"
                f"   ({len(values)} turns)"
            )
    warm_at = next((i for i, (t, _) in enumerate(samples) if t >= max(30.0, wall * 0.1)), 0)
    if samples:
        first = samples[warm_at][1]
        print("worker RSS (MB) after warm-up -> end:")
        for pid, mb in end_rss.items():
            print(f"  worker {pid}: {first.get(pid, math.nan):.0f} -> {mb:.0f} (growth {mb - first.get(pid, mb):+.0f})")
        peak = max((sum(s.values()) for _, s in samples), default=0.0)
        print(f"  all workers together, peak: {peak:.0f} MB")
    print("stored events:", checked)


if __name__ == "__main__":
    main()
