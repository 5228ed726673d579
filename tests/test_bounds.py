"""Every per-user structure stays bounded: the tracker's lists, the engine's per-user locks, the events kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from conftest import memory_engine

from chatrec import Settings
from chatrec.users.interests import InterestState
from chatrec.users.tracker import MAX_AVOIDED, MAX_ITEMS, Tracker


def test_the_tracker_keeps_the_newest_of_each_list() -> None:
    tracker = Tracker(lambda texts: np.zeros((len(texts), 4), np.float32), lambda ids: {}, Settings())
    state = InterestState(dim=4)
    for n in range(MAX_ITEMS + 5):
        tracker.apply_feedback(state, f"item-{n}", liked=False, now=0.0)
    assert len(state.rejected) == MAX_ITEMS and state.rejected[-1] == f"item-{MAX_ITEMS + 4}"
    assert "item-0" not in state.rejected and "item-5" in state.rejected
    for n in range(MAX_ITEMS + 5):
        tracker.apply_feedback(state, f"fav-{n}", liked=True, now=0.0)
    assert len(state.liked) == MAX_ITEMS and state.liked[0] == "fav-5"
    assert MAX_AVOIDED < MAX_ITEMS


def test_per_user_locks_live_only_while_a_call_is_in_flight(tmp_path: Path) -> None:
    engine = memory_engine(tmp_path)
    for n in range(50):
        engine.chat(f"user-{n}", "space exploration")
    assert engine._locks == {}, "no lock is kept for a user with nothing in flight"
    with engine._user_lock("busy"):
        waiting = threading.Thread(target=lambda: engine.feedback("busy", next(iter(engine.items)), liked=True))
        waiting.start()
        time.sleep(0.05)
        assert list(engine._locks) == ["busy"] and engine._locks["busy"][1] == 2, "the second caller waits on it"
    waiting.join(10)
    assert engine._locks == {}


def test_events_older_than_the_retention_are_deleted(tmp_path: Path) -> None:
    engine = memory_engine(tmp_path, events_retention_days=30)
    engine.chat("old", "space exploration")
    day = 86400.0
    engine.profiles.update(
        "old", engine.embedder.dim, lambda s: ([("message", {"text": "long ago"})], None), now=time.time() - 40 * day
    )
    assert len(engine.profiles.events("old")) == 3
    assert engine.prune_events() == 1
    assert [e[2] for e in engine.profiles.events("old") if e[1] == "message"] == [{"text": "space exploration"}]
    assert memory_engine(tmp_path / "keep", events_retention_days=0).prune_events() == 0
