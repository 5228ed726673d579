"""Read an embedded Chroma store in a child process first, so a damaged index that crashes Chroma kills only the child.

`python -m chatrec.backends.probe CHROMA_DIR COLLECTION` opens the collection, counts it, runs one query with a
stored vector and fetches the stored vectors. Exit 0: readable; exit 1: Chroma raised an error (one line on stderr
says which); death by a signal: Chroma crashed (random bytes in the HNSW file segfault it). It writes no items and
never takes chatrec's folder lock (the parent process holds it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chatrec.config import offline_environment

TIMEOUT_S = 60.0  # past this the store counts as damaged (reading ReDial's 6,583 items takes ~2 s)
READ_BUDGET_S = 5.0  # reading stored vectors stops after this on a large store (106,583 items take ~11 s whole)
PAGE = 1000
QUERY_N = 10
FAILED = 1  # the child's exit code when Chroma raised an error


def has_data(chroma_dir: Path) -> bool:
    """Whether the folder holds a store to read (a brand-new or empty folder has nothing to probe)."""
    return (chroma_dir / "chroma.sqlite3").exists()


def read_everything(chroma_dir: Path, collection: str, budget_s: float = READ_BUDGET_S) -> int:
    """Touch every part of the store a chat reads (count, the HNSW index, stored vectors); the item count.

    Stored vectors are fetched page by page while the budget lasts: a truncated index file loses vectors silently
    until one of them is asked for. The last page comes first, then pages spread over the whole store, then the
    ones between: a store read whole within the budget (ReDial's is, in ~2 s) is read whole; a larger one is
    sampled end to end, so that a start does not grow with the catalog."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import NotFoundError

    client = chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        col = client.get_collection(collection, embedding_function=None)
    except NotFoundError:
        return 0  # no collection yet: the parent creates it
    count = int(col.count())
    if count == 0:
        return 0
    first = col.get(limit=1, include=["embeddings"])
    if not first["ids"]:
        raise RuntimeError(f"the collection counts {count} items but none can be read back")
    col.query(query_embeddings=[first["embeddings"][0]], n_results=min(QUERY_N, count), include=["distances"])
    deadline = time.monotonic() + budget_s
    for offset in page_order(count):
        if time.monotonic() > deadline:
            break
        col.get(limit=PAGE, offset=offset, include=["embeddings"])
    return count


def page_order(count: int, page: int = PAGE) -> list[int]:
    """Every page's offset once: the last, then every 16th, every 4th, then the rest (spread before dense)."""
    offsets = list(range(0, count, page))
    order = [offsets[-1], *offsets[::16], *offsets[::4], *offsets] if offsets else []
    return list(dict.fromkeys(order))


def problem(
    chroma_dir: Path, collection: str, timeout_s: float = TIMEOUT_S, meanwhile: Callable[[], object] | None = None
) -> str | None:
    """None if a child process could read the store; otherwise what went wrong, in words.

    `meanwhile` runs in this process while the child reads (the caller imports Chroma there: the two overlap)."""
    offline_environment()  # the child inherits the offline, telemetry-free environment
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding the chatrec package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "chatrec.backends.probe", str(chroma_dir), collection]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if meanwhile is not None:
            meanwhile()
        _, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"reading the index did not finish within {timeout_s:g} s"
    finally:
        if child.poll() is None:  # timed out, or this process was interrupted: never leave the child behind
            child.kill()
            child.communicate()
    return describe(child.returncode, stderr)


def describe(returncode: int, stderr: str) -> str | None:
    """The child's outcome in words (None when it read everything)."""
    if returncode == 0:
        return None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"Chroma crashed with {name} while reading the index"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit code {returncode}"
    return f"Chroma failed while reading the index ({detail[:300]})"


def main(argv: Sequence[str]) -> int:
    """The child's entry point: exit 0 when everything could be read, FAILED (one line on stderr) when not."""
    if len(argv) != 2:
        print("usage: python -m chatrec.backends.probe CHROMA_DIR COLLECTION", file=sys.stderr)
        return 2
    offline_environment()
    try:
        read_everything(Path(argv[0]), argv[1])
    except Exception as exc:  # any error here means the store cannot be read; the parent reports it
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
