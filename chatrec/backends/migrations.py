"""Versioned schema migrations for the profile databases: each backend lists its steps, numbered from 1, and a
`chatrec_migrations` table records the ones applied (as simonw/llm keeps its migrations), so that a database is
only ever brought forward, one step at a time, and a newer one than this code knows is refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatrec.errors import StoreCorruptedError


@dataclass(frozen=True)
class Migration:
    """One step: its number, a name for the record, and the SQL statements that make it."""

    version: int
    name: str
    statements: tuple[str, ...]


def pending(migrations: Sequence[Migration], applied: set[int], where: str) -> list[Migration]:
    """The steps still to apply, in order; a database that holds a step this code does not know was made by a
    newer chatrec and is not touched."""
    known = {m.version for m in migrations}
    if sorted(known) != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migrations must be numbered 1..{len(migrations)}, got {sorted(known)}")
    newer = sorted(applied - known)
    if newer:
        raise StoreCorruptedError(
            f"The profile database {where} has schema steps {newer} that this version of chatrec does not know "
            "(it was made by a newer chatrec); upgrade chatrec, or point profiles_url elsewhere."
        )
    return [m for m in sorted(migrations, key=lambda m: m.version) if m.version not in applied]
