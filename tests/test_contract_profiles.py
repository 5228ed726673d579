"""The `ProfileStore` contract (chatrec/ports.py), run on every implementation: the in-memory double, SQLite and
PostgreSQL (a real server started by the tests on loopback, tests/pg_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chatrec import Settings
from chatrec.backends.factory import open_profiles
from chatrec.ports import Event, ProfileStore
from chatrec.users.interests import InterestState

DIM = 4
IMPLEMENTATIONS = ["memory:", "sqlite", "postgresql"]


@pytest.fixture(params=IMPLEMENTATIONS)
def profiles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    url = None if request.param == "sqlite" else request.param
    if request.param == "postgresql":
        from pg_server import fresh_database

        url = fresh_database(request.getfixturevalue("postgres_url"))
    store = open_profiles(Settings(data_dir=tmp_path, profiles_url=url))
    try:
        yield store
    finally:
        store.close()


def like(item: str, event: str = "feedback") -> Any:
    def change(state: InterestState) -> tuple[list[Event], int]:
        state.liked = [*state.liked, item]
        state.short = np.ones(DIM, np.float32) / 2
        return [(event, {"item": item})], len(state.liked)

    return change


def test_a_new_user_has_no_profile_until_an_update(profiles: ProfileStore) -> None:
    assert profiles.load("new", DIM) is None and profiles.events("new") == [] and profiles.location
    assert profiles.update("new", DIM, like("a"), now=10.0) == 1
    state = profiles.load("new", DIM)
    assert state is not None and state.liked == ["a"] and np.allclose(state.short, 0.5)
    assert profiles.events("new") == [(10.0, "feedback", {"item": "a"})]


def test_a_loaded_state_is_a_copy(profiles: ProfileStore) -> None:
    profiles.update("u", DIM, like("a"), now=1.0)
    state = profiles.load("u", DIM)
    assert state is not None
    state.liked.append("changed only here")
    assert profiles.load("u", DIM).liked == ["a"]  # type: ignore[union-attr]


def test_updates_keep_order_and_a_lost_race_is_applied_again(profiles: ProfileStore) -> None:
    profiles.update("u", DIM, like("a"), now=1.0)
    calls: list[int] = []

    def racing(state: InterestState) -> tuple[list[Event], None]:
        calls.append(1)
        if len(calls) == 1:  # another writer saves the user between this update's read and its write
            profiles.update("u", DIM, like("b", "other"), now=2.0)
        state.liked = [*state.liked, "c"]
        return [("mine", {})], None

    profiles.update("u", DIM, racing, now=3.0)
    assert len(calls) == 2, "the change is applied again on the newer state"
    assert profiles.load("u", DIM).liked == ["a", "b", "c"]  # type: ignore[union-attr]
    assert [kind for _, kind, _ in profiles.events("u")] == ["feedback", "other", "mine"]


def test_forget_removes_every_row_of_that_user_only(profiles: ProfileStore) -> None:
    profiles.update("u", DIM, like("a"), now=1.0)
    profiles.update("v", DIM, like("b"), now=1.0)
    profiles.forget("u")
    profiles.forget("nobody")
    assert profiles.load("u", DIM) is None and profiles.events("u") == []
    assert profiles.load("v", DIM).liked == ["b"] and len(profiles.events("v")) == 1  # type: ignore[union-attr]


def test_old_events_are_pruned_and_states_kept(profiles: ProfileStore) -> None:
    for ts in (1.0, 2.0, 3.0):
        profiles.update("u", DIM, like(str(ts)), now=ts)
    assert profiles.prune_events(before=2.5) == 2
    assert [ts for ts, _, _ in profiles.events("u")] == [3.0]
    assert profiles.load("u", DIM).liked == ["1.0", "2.0", "3.0"]  # type: ignore[union-attr]
    assert profiles.prune_events(before=0.0) == 0


def test_vectors_of_another_dimension_are_dropped_and_the_lists_kept(profiles: ProfileStore) -> None:
    profiles.update("u", DIM, like("a"), now=1.0)
    state = profiles.load("u", DIM + 1)  # another embedder now
    assert state is not None and state.liked == ["a"] and len(state.short) == DIM + 1 and not np.any(state.short)


def test_the_profiles_url_picks_the_backend_and_a_wrong_one_is_a_clear_error(tmp_path: Path) -> None:
    from chatrec.backends.memory import MemoryProfiles
    from chatrec.backends.sqlite_profiles import SQLiteProfiles
    from chatrec.errors import ConfigError

    default = open_profiles(Settings(data_dir=tmp_path))
    assert isinstance(default, SQLiteProfiles) and default.location == f"sqlite:///{tmp_path / 'profiles.sqlite'}"
    default.close()
    elsewhere = open_profiles(Settings(data_dir=tmp_path, profiles_url=f"sqlite:///{tmp_path / 'other.db'}"))
    assert isinstance(elsewhere, SQLiteProfiles) and (tmp_path / "other.db").exists()
    elsewhere.close()
    assert isinstance(open_profiles(Settings(data_dir=tmp_path, profiles_url="memory:")), MemoryProfiles)
    with pytest.raises(ConfigError, match="profiles_url must start with"):
        Settings(profiles_url="mysql://db")


def test_a_postgres_url_opens_postgres_and_a_server_that_is_down_is_a_clear_error(postgres_url: str) -> None:
    from pg_server import free_port, fresh_database

    from chatrec.backends.postgres_profiles import PostgresProfiles
    from chatrec.errors import ProfilesUnavailableError, StoreError

    url = fresh_database(postgres_url)
    store = open_profiles(Settings(profiles_url=url))
    assert isinstance(store, PostgresProfiles) and store.location == url
    store.close()
    again = PostgresProfiles(url)  # a second start (another process) applies no step twice
    with again.transaction() as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM chatrec_migrations ORDER BY version")] == [1, 2, 3]
    again.close()
    down = f"postgresql://chatrec:secret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(ProfilesUnavailableError, match="cannot be used right now") as caught:
        PostgresProfiles(down, timeout_s=2)
    assert isinstance(caught.value, StoreError) and "secret" not in str(caught.value)  # the API's 503


def test_hold_lets_the_holder_update_and_is_given_back(profiles: ProfileStore) -> None:
    with profiles.hold("u"):
        profiles.update("u", DIM, like("a"), now=1.0)
    with profiles.hold("u"):  # given back: taken again at once
        assert profiles.load("u", DIM).liked == ["a"]  # type: ignore[union-attr]


def test_on_postgres_a_held_user_waits_in_every_other_process_and_others_do_not(postgres_url: str) -> None:
    import threading
    import time

    from pg_server import fresh_database

    from chatrec.backends.postgres_profiles import PostgresProfiles
    from chatrec.errors import ProfileBusyError

    url = fresh_database(postgres_url)
    one, two = PostgresProfiles(url), PostgresProfiles(url)  # two pools: as two processes
    try:
        with one.hold("u"):
            with pytest.raises(ProfileBusyError), two.hold("u", wait_s=0.3):
                pass
            with two.hold("someone else", wait_s=0.3):
                pass
        order: list[str] = []
        held = threading.Event()

        def first() -> None:
            with one.hold("u"):
                held.set()
                time.sleep(0.5)
                order.append("first done")

        thread = threading.Thread(target=first)
        thread.start()
        held.wait(5)
        with two.hold("u", wait_s=10):
            order.append("second in")
        thread.join()
        assert order == ["first done", "second in"]
    finally:
        one.close()
        two.close()
