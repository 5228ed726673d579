"""Collaborative signal from an interactions file: item counts and item-item co-occurrence similarity.

The file is CSV with the columns `user,item,rating,timestamp` (CONTRACT.md); every row counts as one implicit
interaction of that user with that item. `fit` is the offline (re)fit; the fitted model keeps, per item, its
interaction count and its strongest neighbours by cosine over users, and is saved next to the store.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatrec.errors import BadRow, InteractionsError

COLUMNS = ("user", "item", "rating", "timestamp")
NEIGHBOURS = 100  # neighbours kept per item
MODEL_FILE = "collaborative.npz"
SOURCE_FILE = "interactions.csv"


@dataclass(frozen=True)
class Interaction:
    user: str
    item: str
    rating: float
    timestamp: int


def read_interactions(path: Path, known: set[str], skip_bad: bool = False) -> tuple[list[Interaction], list[BadRow]]:
    """Every row of an interactions CSV, checked: a bad row (or an item not in the catalog) is an error naming its
    line, unless `skip_bad`, in which case it is left out and reported."""
    path = Path(path)
    if not path.is_file():
        raise InteractionsError(f"interactions file not found: {path}")
    rows: list[Interaction] = []
    bad: list[BadRow] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS[:2] if c not in (reader.fieldnames or [])]
        if missing:
            raise InteractionsError(
                f"{path}: the header must have the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}"
            )
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append(_parse(raw, known))
            except ValueError as exc:
                bad.append(BadRow(str(path), line, str(exc)))
    if bad and not skip_bad:
        shown = "; ".join(str(b) for b in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InteractionsError(
            f"{len(bad)} bad interaction rows, nothing was changed: {shown}{more}. Use --skip-bad to load the rest."
        )
    return rows, bad


def _parse(raw: dict[str, str | None], known: set[str]) -> Interaction:
    user, item = (raw.get("user") or "").strip(), (raw.get("item") or "").strip()
    if not user or not item:
        raise ValueError("'user' and 'item' must not be empty")
    if item not in known:
        raise ValueError(f"unknown item id {item!r}")
    try:
        rating = float(raw.get("rating") or 1.0)
        timestamp = int(float(raw.get("timestamp") or 0))
    except ValueError:
        raise ValueError(
            f"'rating' and 'timestamp' must be numbers, got {raw.get('rating')!r}, {raw.get('timestamp')!r}"
        ) from None
    if not np.isfinite(rating):
        raise ValueError(f"'rating' must be finite, got {rating!r}")
    return Interaction(user, item, rating, timestamp)


def write_interactions(path: Path, rows: Iterable[Sequence[object]]) -> int:
    """Write (user, item, rating, timestamp) rows as an interactions CSV; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def cooccurrence_neighbours(
    user_index: np.ndarray, item_index: np.ndarray, n_items: int, keep: int = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item counts and each item's `keep` nearest items by cosine over users (implicit, one per user-item pair).

    Returns (counts[n_items], neighbours[n_items, keep] as item indexes or -1, similarities[n_items, keep])."""
    from scipy import sparse

    n_users = int(user_index.max()) + 1 if len(user_index) else 0
    matrix = sparse.csr_matrix(
        (np.ones(len(user_index), np.float32), (user_index, item_index)), shape=(n_users, n_items)
    )
    matrix.data[:] = 1.0  # duplicates collapse to one interaction
    counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
    norms = np.sqrt(np.maximum(counts, 1e-9))
    co = (matrix.T @ matrix).tocsr()
    co.setdiag(0.0)
    co.eliminate_zeros()
    neighbours = np.full((n_items, keep), -1, np.int32)
    sims = np.zeros((n_items, keep), np.float32)
    for i in range(n_items):
        start, end = co.indptr[i], co.indptr[i + 1]
        if start == end:
            continue
        cols, vals = co.indices[start:end], co.data[start:end] / (norms[i] * norms[co.indices[start:end]])
        top = np.argsort(-vals, kind="stable")[:keep]
        neighbours[i, : len(top)], sims[i, : len(top)] = cols[top], vals[top]
    return counts, neighbours, sims


class Collaborative:
    """A fitted model: counts and neighbours over the catalog's item ids."""

    def __init__(
        self, ids: Sequence[str], counts: np.ndarray, neighbours: np.ndarray, sims: np.ndarray, source: str
    ) -> None:
        self.ids = list(ids)
        self.index = {i: k for k, i in enumerate(self.ids)}
        self.counts, self.neighbours, self.sims, self.source = counts, neighbours, sims, source

    @classmethod
    def fit(cls, ids: Sequence[str], rows: Sequence[Interaction], source: str = "") -> Collaborative:
        index = {i: k for k, i in enumerate(ids)}
        users: dict[str, int] = {}
        u = np.array([users.setdefault(r.user, len(users)) for r in rows], np.int64)
        it = np.array([index[r.item] for r in rows], np.int64)
        counts, neighbours, sims = cooccurrence_neighbours(u, it, len(ids))
        return cls(ids, counts, neighbours, sims, source)

    def count(self, item_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.counts[self.index[i]] if i in self.index else 0.0 for i in item_ids], np.float32)

    def similar(self, weighted: dict[str, float], limit: int = NEIGHBOURS) -> dict[str, float]:
        """Items near the weighted seed items: item id -> sum of weight x similarity (seeds themselves left out)."""
        out: dict[str, float] = {}
        for seed, w in weighted.items():
            k = self.index.get(seed)
            if k is None:
                continue
            for j, s in zip(self.neighbours[k][:limit], self.sims[k][:limit]):
                if j < 0:
                    break
                out[self.ids[j]] = out.get(self.ids[j], 0.0) + w * float(s)
        for seed in weighted:
            out.pop(seed, None)
        return out

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MODEL_FILE
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            ids=np.array(self.ids),
            counts=self.counts,
            neighbours=self.neighbours,
            sims=self.sims.astype(np.float16),
            source=np.array(self.source),
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, folder: Path, ids: Sequence[str]) -> Collaborative | None:
        """The saved model if there is one for exactly this catalog (else None: the terms stay off)."""
        path = Path(folder) / MODEL_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if list(data["ids"]) != list(ids):
                    return None
                return cls(
                    list(data["ids"]),
                    data["counts"],
                    data["neighbours"],
                    data["sims"].astype(np.float32),
                    str(data["source"]),
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InteractionsError(
                f"the collaborative model {path} cannot be read ({exc}); fit it again with `chatrec refit`"
            ) from exc


def fingerprint(path: Path) -> str:
    """A content hash of an interactions file (names what a fitted model came from)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def store_and_fit(
    folder: Path, source: Path, ids: Sequence[str], skip_bad: bool = False
) -> tuple[Collaborative, list[BadRow], int]:
    """`chatrec ingest --interactions`: check the file, keep a copy beside the store, fit and save the model.

    Nothing is written unless the whole file is good (or `skip_bad`)."""
    rows, bad = read_interactions(source, set(ids), skip_bad)
    model = Collaborative.fit(ids, rows, source=json.dumps({"file": str(source), "sha": fingerprint(source)}))
    folder.mkdir(parents=True, exist_ok=True)
    if Path(source).resolve() != (folder / SOURCE_FILE).resolve():
        shutil.copyfile(source, folder / SOURCE_FILE)
    model.save(folder)
    return model, bad, len(rows)


def refit(folder: Path, ids: Sequence[str]) -> tuple[Collaborative, int]:
    """The offline refit: fit again from the interactions kept in `folder` (after the catalog or the file changed)."""
    source = Path(folder) / SOURCE_FILE
    if not source.is_file():
        raise InteractionsError(
            f"no interactions in {folder}; load some with `chatrec ingest CATALOG --interactions FILE`"
        )
    rows, _ = read_interactions(source, set(ids), skip_bad=True)
    model = Collaborative.fit(ids, rows, source=json.dumps({"file": str(source), "sha": fingerprint(source)}))
    model.save(folder)
    return model, len(rows)
