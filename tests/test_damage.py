"""A damaged vector store is a message with the rebuild command, never a crash; `ingest --rebuild` moves it aside."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, write_jsonl

from chatrec import Engine, Settings, StoreCorruptedError
from chatrec.backends import probe
from chatrec.backends.chroma import check_readable

REDIAL = SHARED / "redial" / "id2info.json"
ROWS = [
    {
        "id": f"s{i}",
        "title": f"Small Film {i}",
        "year": 1990 + i,
        "kind": "movie",
        "genres": ["science fiction" if i % 2 else "comedy"],
        "description": f"Story number {i}: a crew travels far.",
    }
    for i in range(20)
]

# Loads an engine and chats once; a StoreCorruptedError is printed (exit 3 at start-up, 4 at the first chat).
LOAD_AND_CHAT = """
import sys
from chatrec import Engine, Settings, StoreCorruptedError
data, catalog, fmt = sys.argv[1:4]
try:
    engine = Engine.load(Settings(data_dir=data, catalog=catalog, catalog_format=fmt, generator="none"))
except StoreCorruptedError as exc:
    print(f"at start-up: {exc}")
    sys.exit(3)
try:
    turn = engine.chat("u", "a funny space adventure with robots")
except StoreCorruptedError as exc:
    print(f"at the first chat: {exc}")
    sys.exit(4)
print("chat worked:", [r.title for r in turn.recommendations])
"""


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False)


def segment_dir(data_dir: Path) -> Path:
    """The folder of the persisted HNSW index (the only subfolder of chroma/ that holds data_level0.bin)."""
    found = [p for p in (data_dir / "chroma").iterdir() if (p / "data_level0.bin").exists()]
    assert len(found) == 1, found
    return found[0]


def damage(data_dir: Path, how: str) -> bytes | None:
    """Damage the index in one of the ways a probe found; the bytes now in data_level0.bin (None: folder gone)."""
    seg = segment_dir(data_dir)
    index = seg / "data_level0.bin"
    size = index.stat().st_size
    assert size > 1_000_000, "ReDial's index should be on disk"  # a small store keeps its vectors in the log only
    if how == "random bytes":
        index.write_bytes(random.Random(12).randbytes(size))
    elif how == "truncated to half":
        with index.open("r+b") as handle:
            handle.truncate(size // 2)
    elif how == "truncated to nothing":
        index.write_bytes(b"")
    elif how == "segment deleted":
        shutil.rmtree(seg)
        return None
    return index.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["random bytes", "truncated to half", "truncated to nothing", "segment deleted"])
def test_a_damaged_redial_index_is_reported_then_rebuilt(
    redial_dir: tuple[Path, str], tmp_path: Path, how: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(redial_dir[0], data)  # never damage the shared fixture's folder
    damaged = damage(data, how)

    loaded = run("-c", LOAD_AND_CHAT, str(data), str(REDIAL), "redial")
    said = loaded.stdout + loaded.stderr
    assert loaded.returncode >= 0, f"killed by signal {-loaded.returncode}: {said[-2000:]}"
    assert loaded.returncode in (3, 4), said[-2000:]
    assert "--rebuild" in loaded.stdout and str(data / "chroma") in loaded.stdout and "Traceback" not in said

    small = write_jsonl(tmp_path / "small.jsonl", ROWS)
    rebuilt = run("-m", "chatrec.cli", "ingest", str(small), "--rebuild", "--data-dir", str(data), "--quiet")
    assert rebuilt.returncode == 0, (rebuilt.stdout + rebuilt.stderr)[-2000:]
    kept = list(data.glob("chroma.broken-*"))
    assert len(kept) == 1 and f"moved to {kept[0]}" in rebuilt.stdout and "20 added" in rebuilt.stdout
    assert (kept[0] / "chroma.sqlite3").exists()  # kept, never deleted
    if damaged is not None:  # the damaged index itself is kept as it was
        assert any(p.read_bytes() == damaged for p in kept[0].glob("*/data_level0.bin"))

    with Engine.load(Settings(data_dir=data, catalog=small, generator="none")) as engine:
        assert engine.ingest_report.embedded == 0 and engine.store.count() == len(ROWS)
        turn = engine.chat("u", "a science fiction story about a crew")
        assert turn.recommendations and all(r.item_id.startswith("s") for r in turn.recommendations)


@pytest.fixture
def small_store(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", catalog=write_jsonl(tmp_path / "c.jsonl", ROWS), generator="none")
    with Engine.load(settings):
        pass
    return settings


def test_a_readable_store_passes_the_probe_and_a_new_folder_or_a_server_is_not_probed(
    small_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert probe.problem(small_store.chroma_dir, small_store.collection) is None
    check_readable(small_store)

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("no child process expected")

    monkeypatch.setattr(probe.subprocess, "Popen", no_child)
    check_readable(Settings(data_dir=tmp_path / "new"))  # nothing to read yet
    check_readable(small_store.with_(chroma_url="http://localhost:8000"))  # a server is its own business


def test_a_probe_that_crashes_fails_or_hangs_names_what_happened(small_store: Settings) -> None:
    assert probe.describe(-11, "") == "Chroma crashed with SIGSEGV while reading the index"
    assert "InternalError: boom" in (probe.describe(1, "some warning\nInternalError: boom\n") or "")
    assert "did not finish within" in (
        probe.problem(small_store.chroma_dir, small_store.collection, timeout_s=0.05) or ""
    )


def test_chroma_failing_at_run_time_is_a_store_error_with_the_hint(small_store: Settings) -> None:
    with Engine.load(small_store) as engine:
        store = engine.store
        vector = store.vectors(["s1"])["s1"]
        from chromadb.errors import InvalidArgumentError

        with pytest.raises(InvalidArgumentError):  # our mistakes are not reported as damage
            store.query(np.zeros(3, dtype=np.float32), 5)
        with pytest.raises(ValueError) as raised:
            store.vectors([1])  # type: ignore[list-item]
        assert not isinstance(raised.value, StoreCorruptedError)

        sqlite_file = small_store.chroma_dir / "chroma.sqlite3"
        sqlite_file.write_bytes(
            b"not a database" * (sqlite_file.stat().st_size // 14)
        )  # damaged under a running engine
        for call in (
            store.count,
            store.stored_hashes,
            lambda: store.vectors(["s2"]),
            lambda: store.query(vector, 5),
            lambda: store.upsert([engine.items["s1"]], vector[None, :], ["h"]),
            lambda: store.delete(["s3"]),
            lambda: engine.chat("u", "a crew travels far"),
        ):
            with pytest.raises(StoreCorruptedError, match="--rebuild"):
                call()


def test_a_full_disk_under_the_profiles_is_a_clear_error_and_no_damage(tmp_path: Path) -> None:
    """SQLite's own limit on the file's pages gives SQLITE_FULL, as a full disk does (benchmarks/full_disk.py runs
    the whole server on a small tmpfs): the save is refused as DiskFullError, undone, and works once there is room."""
    from chatrec.backends.sqlite_profiles import SQLiteProfiles
    from chatrec.errors import DiskFullError, StoreError
    from chatrec.serve.error_map import problem

    def saying(text: str):  # type: ignore[no-untyped-def]
        def change(state):  # type: ignore[no-untyped-def]
            state.liked = [*state.liked, text[:8]]
            return [("message", {"text": text})], None

        return change

    profiles = SQLiteProfiles(tmp_path / "profiles.sqlite")
    profiles.update("u", 4, saying("first"), now=1.0)
    pages = profiles._db.execute("PRAGMA page_count").fetchone()[0]
    profiles._db.execute(f"PRAGMA max_page_count = {pages}")  # not one page more: the disk is full
    with pytest.raises(DiskFullError, match="is full") as raised:
        for n in range(50):
            profiles.update("u", 4, saying(f"turn {n} " + "x" * 4000), now=2.0 + n)
    assert isinstance(raised.value, StoreError)
    answer = problem(raised.value)
    assert (answer.status, answer.code, answer.retry_after) == (503, "store_unavailable", 30)
    assert "disk is full" in answer.message
    saved = [payload["text"] for _, _, payload in profiles.events("u")]
    assert saved[0] == "first" and len(saved) == len(profiles.load("u", 4).liked)  # type: ignore[union-attr]
    profiles._db.execute("PRAGMA max_page_count = 1073741823")  # room again, no reopening
    profiles.update("u", 4, saying("after"), now=99.0)
    assert profiles.events("u")[-1][2]["text"] == "after"
    assert profiles._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    profiles.close()


def test_the_probe_reads_every_page_once_the_last_first() -> None:
    """A large store is sampled end to end before it is read densely (the probe's budget may stop it early)."""
    from chatrec.backends.probe import page_order

    assert page_order(0) == []
    assert page_order(999) == [0]
    order = page_order(106_583)
    assert sorted(order) == list(range(0, 106_583, 1000)) and order[0] == 106_000
    assert set(order[:8]) == {106_000, *range(0, 106_583, 16_000)}


def test_a_store_failure_on_a_disk_with_no_room_left_is_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma sometimes fails on a full disk without saying why ("Failed to apply logs to the metadata segment",
    seen by benchmarks/full_disk.py): with almost no room left under the store it is reported as a full disk (free
    some space), elsewhere as a damaged store (rebuild it)."""
    from collections import namedtuple

    from chromadb.errors import InternalError

    from chatrec.backends import chroma
    from chatrec.catalog.items import Item
    from chatrec.errors import DiskFullError

    store = chroma.ChromaStore(Settings(data_dir=tmp_path), "test-embedder", 2)
    try:

        def failing(**kwargs: object) -> None:
            raise InternalError("Error in compaction: Failed to apply logs to the metadata segment")

        monkeypatch.setattr(store._collection, "upsert", failing)
        item, vectors = [Item(id="a", title="A", description="a")], np.ones((1, 2), np.float32)
        with pytest.raises(StoreCorruptedError, match="Rebuild"):
            store.upsert(item, vectors, ["h"])
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(chroma.shutil, "disk_usage", lambda path: usage(1 << 30, (1 << 30) - 4096, 4096))
        with pytest.raises(DiskFullError, match="is full"):
            store.upsert(item, vectors, ["h"])
    finally:
        store.close()
