"""Prometheus metrics of one app process (prometheus-client), served at /metrics: chat turns, each turn's stages
(read, rank, first text, full reply) as latency histograms, the chat work in flight (the generator's queue), and
the API's answers by status and error code. Each process keeps its own; Prometheus scrapes every worker
(docs/api.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # seconds


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
        )

    def stage(self, stage: str, seconds: float) -> None:
        """The engine's `on_stage` hook."""
        self.stages.labels(stage=stage).observe(seconds)
        if stage == "full_reply":
            self.turns.inc()

    def answer(self, status: int, code: str = "") -> None:
        self.answers.labels(status=str(status), code=code or "ok").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
