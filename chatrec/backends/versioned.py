"""Optimistic concurrency for a profile database whose user rows carry a version: read, change, write over the
version read, and read and change again when another process wrote first (SQLite and PostgreSQL share it)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chatrec.errors import ProfileBusyError
from chatrec.ports import Event
from chatrec.users.interests import InterestState

T = TypeVar("T")
ATTEMPTS = 50  # of one update racing other processes for the same user

Read = Callable[[str, int], tuple[InterestState | None, int | None]]
Write = Callable[[str, InterestState, int | None, float, list[Event]], bool]


def update(
    read: Read,
    write: Write,
    user_id: str,
    dim: int,
    change: Callable[[InterestState], tuple[list[Event], T]],
    now: float,
) -> T:
    """Apply `change` to the user's current state and save it with its events, as one atomic step across
    processes: `write` saves only over the version `read` gave (None: no row yet) and says whether it did."""
    for attempt in range(ATTEMPTS):
        state, version = read(user_id, dim)
        state = state or InterestState(dim=dim)
        events, result = change(state)
        if write(user_id, state, version, now, events):
            return result
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # jittered back-off: let the other writer finish
    raise ProfileBusyError(f"the profile of {user_id!r} changed {ATTEMPTS} times while this update was applied")
