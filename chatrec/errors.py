"""The chatrec error hierarchy; the UI and CLI turn these into friendly text.

ChatrecError
├── ConfigError          a setting is invalid
│   └── CatalogChoiceError   the data folder holds another catalog (see --replace-catalog), or its own is gone
├── CatalogError         a catalog file has bad rows (each with file, line and reason)
├── InputError           a message or argument cannot be used (empty, too long)
├── UnknownItemError     an item id that is not in the catalog (also a ValueError)
├── GeneratorError       the generative model cannot be found, verified or loaded
├── GeneratorBusy        the model is serving other users and did not free up in time
├── ProfileBusyError     a user's profile kept changing under an update (many processes racing)
└── StoreError           the vector store cannot be used
    ├── StoreLockedError     another process is writing to the same data folder
    ├── StoreUnavailableError  the Chroma server cannot be reached right now (it may come back)
    ├── ProfilesUnavailableError  the profile database cannot be reached right now
    ├── DiskFullError        the disk holding the data folder is full; nothing was saved (it may come back)
    └── StoreCorruptedError  the store is damaged or was built differently; rebuild it
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

# How a full disk reads in the errors of SQLite (its SQLITE_FULL, also through Chroma, which says "(code: 13)"),
# of the OS (ENOSPC) and of Rust's standard library (Chroma's index files).
DISK_FULL_SIGNS = ("database or disk is full", "no space left on device", "os error 28")


class ChatrecError(Exception):
    """Base class of every error chatrec raises on purpose."""


class ConfigError(ChatrecError):
    """A setting is invalid."""


class CatalogChoiceError(ConfigError):
    """The data folder holds another catalog than the one asked for (and no replace flag), or its own is gone."""


@dataclass(frozen=True)
class BadRow:
    """One rejected catalog row."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class CatalogError(ChatrecError):
    """A catalog cannot be loaded as it is; `rows` says where and why."""

    def __init__(self, rows: list[BadRow], hint: str = "") -> None:
        self.rows = rows
        shown = "\n".join(f"  {row}" for row in rows[:20])
        more = f"\n  ... and {len(rows) - 20} more" if len(rows) > 20 else ""
        tail = f"\n{hint}" if hint else ""
        super().__init__(f"{len(rows)} bad catalog row(s):\n{shown}{more}{tail}")


class InteractionsError(ChatrecError):
    """An interactions file cannot be used as it is (the message names the lines)."""


class InputError(ChatrecError, ValueError):
    """A message or argument cannot be used."""


class UnknownItemError(ChatrecError, ValueError):
    """An item id that is not in the catalog."""


class GeneratorError(ChatrecError):
    """The generative model cannot be found, verified or loaded."""


class GeneratorBusy(ChatrecError):
    """The model is serving someone else and did not free up in time (the template answers, marked busy)."""


class ProfileBusyError(ChatrecError):
    """A user's profile was changed by other processes on every try of an update; nothing was saved."""


class StoreError(ChatrecError):
    """The vector store cannot be used."""


class StoreLockedError(StoreError):
    """Another process holds the writer lock of the data folder."""


class StoreUnavailableError(StoreError):
    """The Chroma server cannot be reached (down, restarting, refusing); nothing was changed, and it may come back."""


class ProfilesUnavailableError(StoreError):
    """The profile database cannot be reached (a PostgreSQL server down or refusing); nothing was saved."""


class DiskFullError(StoreError):
    """The disk holding the data folder is full: a write failed and was undone, so nothing was saved and nothing is
    damaged; it works again once there is room. Never a `StoreCorruptedError` (a rebuild would not help)."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error, or one it was raised from, is a full disk: ENOSPC, SQLite's SQLITE_FULL, or their text."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if isinstance(current, sqlite3.Error) and getattr(current, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if says_disk_full(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def says_disk_full(text: str) -> bool:
    """Whether an error's text says the disk is full (for errors that come only as text, from a child process)."""
    lowered = text.lower()
    return any(sign in lowered for sign in DISK_FULL_SIGNS)


class StoreCorruptedError(StoreError):
    """The store is damaged or incompatible; `chatrec ingest --rebuild` rebuilds it from the catalog."""
