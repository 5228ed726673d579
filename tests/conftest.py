"""Shared fixtures: the real packaged embedder and a real Chroma store in a temp folder, loaded once per session.

Every outgoing network connection is refused and recorded; the session fails if any was attempted.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatrec import Engine, Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
ATTEMPTS: list[str] = []
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else str(address)
    try:
        local = self.family == socket.AF_UNIX or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        ATTEMPTS.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
        raise OSError(f"network access attempted in tests: {address}")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if ATTEMPTS:
        print(f"\nNETWORK ACCESS ATTEMPTED: {sorted(set(ATTEMPTS))}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The default catalog in a fresh store, with the real embedders."""
    with Engine.load(Settings(data_dir=tmp_path_factory.mktemp("default"), generator="none")) as eng:
        yield eng


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    rows = [
        {"id": "a1", "title": "Orbit Dreams", "year": 2001, "kind": "movie", "genres": ["science fiction"],
         "description": "Astronauts on a long voyage to Jupiter.", "tags": ["space"]},
        {"id": "a2", "title": "Garden Days", "year": 1999, "kind": "movie", "genres": ["drama"],
         "description": "A retired teacher tends roses and vegetables.", "tags": ["gardening"]},
        {"id": "a3", "title": "Goal Line", "year": 2010, "kind": "movie", "genres": ["sports"],
         "description": "A village football team reaches the national cup final.", "tags": ["football"]},
    ]
    return write_jsonl(tmp_path / "small.jsonl", rows)
