"""Prometheus metrics (prometheus-client), served at /metrics: chat turns, each turn's stages (read, rank, first
text, full reply) as latency histograms, the chat work in flight (the generator's queue), and the API's answers by
status and error code. Under `chatrec serve --workers N` the workers share them through prometheus-client's own
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, which `serve_workers` sets), so any worker answers /metrics with
the sum of all; one process alone keeps them in memory."""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "MULTIPROCESS_ENV", "Metrics"]
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # seconds
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported
LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")


class Metrics:
    """One registry per app (never the process-wide default, so that two apps in one process do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("chatrec_turns", "Chat turns answered", registry=self.registry)
        self.stages = Histogram(
            "chatrec_turn_stage_seconds",
            "Seconds each stage of a chat turn took (first_text and full_reply from the turn's start)",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "chatrec_api_answers",
            "API answers by HTTP status and error code",
            ["status", "code"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "chatrec_chat_steps_in_flight",
            "Chat work being computed now in worker threads (ranking, or a reply waiting for or using the generator)",
            registry=self.registry,
            multiprocess_mode="livesum",  # the workers' sum, of those alive
        )

    def stage(self, stage: str, seconds: float) -> None:
        """The engine's `on_stage` hook."""
        self.stages.labels(stage=stage).observe(seconds)
        if stage == "full_reply":
            self.turns.inc()

    def answer(self, status: int, code: str = "") -> None:
        self.answers.labels(status=str(status), code=code or "ok").inc()

    def exposition(self) -> bytes:
        """This process's metrics, or every worker's summed when they share a folder."""
        folder = os.environ.get(MULTIPROCESS_ENV)
        if not folder:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        forget_dead_workers(Path(folder))
        every = CollectorRegistry()
        multiprocess.MultiProcessCollector(every, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(every)


def forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that died (a killed one's in-flight work is not in flight); their counters
    and histograms stay in the sums, as Prometheus expects of counters."""
    from prometheus_client import multiprocess

    for path in folder.glob("gauge_live*.db"):
        found = LIVE_GAUGE_FILE.fullmatch(path.name)
        if found and not alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), str(folder))  # type: ignore[no-untyped-call]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
