"""The catalog a data folder was built from: a small versioned record beside the store, and the rule for changing it.

`DATA_DIR/catalog.json` is written after every successful sync (ingest, `Engine.load`). Loading a data folder
without a catalog setting uses the catalog it records; asking for another one needs `replace_catalog`
(`--replace-catalog`, `CHATREC_REPLACE_CATALOG=1`), since syncing to it deletes every stored item it lacks. A
catalog counts as the same when it has the same path, or the same bytes (a moved or copied file). One exception:
`chatrec ingest`, the explicit way to load a catalog, replaces the bundled demo catalog without the flag (nothing of
the owner's is lost, and the bundled one is always there to load again); it says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Catalog
from chatrec.catalog.resources import knowledge_dir
from chatrec.config import Settings
from chatrec.errors import CatalogChoiceError

RECORD_FILE = "catalog.json"
VERSION = 1
FLAG = "--replace-catalog (or CHATREC_REPLACE_CATALOG=1)"
CHOOSE = "--catalog PATH (or CHATREC_CATALOG)"


@dataclass(frozen=True)
class Source:
    """A catalog to load: its resolved path and how to read it; `bundled` for the packaged knowledge/ folder."""

    path: Path
    fmt: str = "auto"
    skip_bad: bool = False
    bundled: bool = False

    @property
    def label(self) -> str:
        return f"the bundled catalog ({self.path})" if self.bundled else f"the catalog {self.path}"


@dataclass(frozen=True)
class Record:
    """What a data folder remembers of the catalog it was built from (the JSON file's fields)."""

    path: str
    fmt: str
    skip_bad: bool
    bundled: bool
    sha256: str  # of the catalog file(s): names a moved or copied catalog as the same one
    size: int
    mtime_ns: int
    items: int
    written_at: float
    version: int = VERSION

    def source(self) -> Source:
        path = knowledge_dir().resolve() if self.bundled else Path(self.path)  # the bundled one moves on reinstall
        return Source(path, self.fmt, self.skip_bad, self.bundled)

    @property
    def label(self) -> str:
        return self.source().label


@dataclass(frozen=True)
class Choice:
    """The catalog to load, what the folder remembered before, the catalog being replaced ('' if none), and
    whether `chatrec ingest` asked (it may replace the bundled catalog without the flag)."""

    source: Source
    record: Record | None
    replacing: str = ""
    ingest: bool = False


# -- the record --------------------------------------------------------------------------------------------------
def record_path(data_dir: Path) -> Path:
    return Path(data_dir) / RECORD_FILE


def read_record(data_dir: Path) -> Record | None:
    """The folder's record, or None when it has none; a damaged or newer record is an error, never a guess."""
    path = record_path(data_dir)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if raw.get("version") != VERSION:
            raise ValueError(f"version {raw.get('version')!r}; this chatrec reads version {VERSION}")
        record = Record(**{k: raw[k] for k in Record.__dataclass_fields__})
        _check_types(record)
        return record
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CatalogChoiceError(
            f"The catalog record {path} cannot be read ({exc}). Delete it and load the data folder with the catalog "
            f"it was built from ({CHOOSE}); that is then recorded again."
        ) from exc


def _check_types(record: Record) -> None:
    types: dict[str, type | tuple[type, ...]] = {
        "path": str,
        "fmt": str,
        "skip_bad": bool,
        "bundled": bool,
        "sha256": str,
        "size": int,
        "mtime_ns": int,
        "items": int,
        "written_at": (int, float),
    }
    for name, kind in types.items():
        if not isinstance(getattr(record, name), kind):
            raise ValueError(f"{name} is {getattr(record, name)!r}")


def write_record(data_dir: Path, source: Source, items: int) -> Record:
    """Record `source` as the folder's catalog (atomically: a crash leaves the old record or the new one)."""
    sha, size, mtime_ns = fingerprint(source)
    record = Record(
        str(source.path), source.fmt, source.skip_bad, source.bundled, sha, size, mtime_ns, items, round(time.time(), 3)
    )
    path = record_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return record


def remember(data_dir: Path, choice: Choice, items: int) -> None:
    """Write the record unless it already says exactly this (same file, unchanged since)."""
    old, source = choice.record, choice.source
    if (
        old is not None
        and (old.path, old.fmt, old.skip_bad, old.bundled, old.items)
        == (str(source.path), source.fmt, source.skip_bad, source.bundled, items)
        and _unchanged(old, source)
    ):
        return
    write_record(data_dir, source, items)


def fingerprint(source: Source) -> tuple[str, int, int]:
    """(sha256, total size, newest mtime in ns) of the catalog's files (a folder: every visible file in it)."""
    digest, size, mtime_ns = hashlib.sha256(), 0, 0
    named = source.path.is_dir()  # a folder's file names are part of it; a single file may be renamed
    for file in _files(source.path):
        stat = file.stat()
        size, mtime_ns = size + stat.st_size, max(mtime_ns, stat.st_mtime_ns)
        digest.update(f"{file.name if named else ''}\0{stat.st_size}\0".encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest(), size, mtime_ns


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [path] if path.is_file() else []


def _unchanged(record: Record, source: Source) -> bool:
    """Cheap check first: the same size and mtime mean the same bytes."""
    files = _files(source.path)
    if not files:
        return False
    stats = [f.stat() for f in files]
    return (sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)) == (record.size, record.mtime_ns)


# -- the rule ----------------------------------------------------------------------------------------------------
def choose(settings: Settings, ingest: bool = False) -> Choice:
    """The catalog to load: the one asked for, else the one the folder remembers, else the bundled one.

    Raises CatalogChoiceError when nothing is asked for and the remembered catalog is gone."""
    choice = _choose(settings, read_record(settings.data_dir))
    return replace(choice, ingest=ingest)


def _choose(settings: Settings, record: Record | None) -> Choice:
    if settings.catalog is None:
        if record is None:
            return Choice(Source(knowledge_dir().resolve(), settings.catalog_format, settings.skip_bad, True), None)
        source = record.source()
        if not source.path.exists():
            raise CatalogChoiceError(
                f"The data folder {settings.data_dir} was built from the catalog {source.path}, which is no longer "
                f"there. Put it back, or choose a catalog with {CHOOSE} and {FLAG} to replace the stored items."
            )
        return Choice(
            replace(
                source, skip_bad=source.skip_bad or settings.skip_bad, fmt=_format(settings.catalog_format, source.fmt)
            ),
            record,
        )
    path = Path(settings.catalog).resolve()
    source = Source(path, settings.catalog_format, settings.skip_bad, path == knowledge_dir().resolve())
    if record is not None and same(record, source):  # the folder's own catalog: read it as it was read before
        source = replace(
            source, fmt=_format(settings.catalog_format, record.fmt), skip_bad=settings.skip_bad or record.skip_bad
        )
    return Choice(source, record)


def load_chosen(settings: Settings, ingest: bool = False) -> tuple[Settings, Catalog, Choice]:
    """Choose, load and confirm the catalog (nothing is changed yet); `ingest` for `chatrec ingest`. The settings
    returned name the remembered catalog when that is the one used (what the engine reports as its catalog)."""
    choice = choose(settings, ingest)
    source = choice.source
    catalog = load_catalog(source.path, skip_bad=source.skip_bad, fmt=source.fmt)
    choice = confirm(choice, settings)
    if settings.catalog is None and not source.bundled:
        settings = settings.with_(catalog=source.path, catalog_format=source.fmt, skip_bad=source.skip_bad)
    return settings, catalog, choice


def confirm(choice: Choice, settings: Settings) -> Choice:
    """Allow the choice, or refuse (changing nothing) a catalog other than the recorded one without the flag.

    Call it after the catalog loaded, so a bad file is reported as such first."""
    record = choice.record
    if record is None or same(record, choice.source):
        return choice
    if settings.replace_catalog or (choice.ingest and record.bundled):
        return replace(choice, replacing=record.label)
    gone = "" if record.bundled or Path(record.path).exists() else ", which is no longer there"
    raise CatalogChoiceError(
        f"The data folder {settings.data_dir} holds {record.label} ({record.items} items{gone}), "
        f"not {choice.source.label}. Nothing was changed. To replace its items with the new catalog, pass {FLAG}. "
        f"(To serve both, put both files in one folder and pass that folder, with the same flag.)"
    )


def check_unrecorded(settings: Settings, choice: Choice, stored: Iterable[str], ids: Iterable[str]) -> None:
    """A folder built before catalogs were recorded: refuse (changing nothing) a catalog sharing no item with
    the store, unless replacing; a store sharing items with the catalog is taken to hold an older version of it."""
    stored = set(stored)
    if choice.record is not None or not stored or settings.replace_catalog or not stored.isdisjoint(ids):
        return
    if choice.ingest and stored <= set(load_catalog(knowledge_dir(), skip_bad=True).items):
        return  # `chatrec ingest` over the bundled catalog (see the module's docstring)
    raise CatalogChoiceError(
        f"The data folder {settings.data_dir} holds {len(stored)} items of a catalog it did not record (it was "
        f"built by an older chatrec), and none of them is in {choice.source.label}. Nothing was changed. Load it "
        f"with the catalog it was built from ({CHOOSE}; that is then recorded), or pass {FLAG} to replace them."
    )


def same(record: Record, source: Source) -> bool:
    """Whether `source` is the recorded catalog: both bundled, the same path, or the same bytes."""
    if record.bundled or source.bundled:
        return record.bundled == source.bundled
    if Path(record.path) == source.path:
        return True
    return bool(_files(source.path)) and fingerprint(source)[0] == record.sha256


def _format(asked: str, remembered: str) -> str:
    return remembered if asked == "auto" else asked
