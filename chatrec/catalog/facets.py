"""Catalog facets: a row's `facets` (numbers, [min, max] ranges, strings, lists of strings), the optional sidecar
`CATALOG.facets.yaml` that names each facet's type, unit and words, and the bounds a conversation puts on them.

The bounds are pure data (`Bound`) and `satisfies` is a pure function, so the ranker, the scripted-dialogue checks
and the tests judge a facet the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FACET_TYPES = ("number", "range", "string", "list")
MAX_FACETS = 32  # facets a row may carry
MAX_FACET_NAME = 40
MAX_LIST = 50  # strings in one list facet

FacetValue = float | tuple[float, float] | str | tuple[str, ...]


@dataclass(frozen=True)
class FacetSpec:
    """What the sidecar says of one facet: its type, unit, the words people use for it, and its values in Chinese."""

    name: str
    type: str = ""  # one of FACET_TYPES; "" when there is no sidecar (then read from the values)
    unit: str = ""
    words: tuple[str, ...] = ()
    scale: str = ""
    zh: tuple[tuple[str, str], ...] = ()  # value -> its Chinese name (for list and string facets)
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()  # value -> other English words for it ("lie", "liar")

    def value_zh(self, value: str) -> str:
        return dict(self.zh).get(value, value)


@dataclass(frozen=True)
class Bound:
    """A conversation's bound on one facet: a number within min..max, a range that includes a value (and lies
    within min..max), a string or list that has one of `any`."""

    name: str
    min: float | None = None
    max: float | None = None
    includes: float | None = None
    any: tuple[str, ...] = ()

    def merged(self, newer: Bound) -> Bound:
        """This bound with what a newer one on the same facet says (the newer wins where both speak); when the two
        contradict ("heavy", then "something lighter"), the newer alone."""
        low = newer.min if newer.min is not None else self.min
        high = newer.max if newer.max is not None else self.max
        if low is not None and high is not None and low > high:
            return newer
        return Bound(
            self.name,
            newer.min if newer.min is not None else self.min,
            newer.max if newer.max is not None else self.max,
            newer.includes if newer.includes is not None else self.includes,
            newer.any or self.any,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bound:
        """A bound from `as_dict`'s form (as stored in a profile)."""
        number = {k: float(data[k]) for k in ("min", "max", "includes") if data.get(k) is not None}
        return cls(str(data["name"]), any=tuple(str(a) for a in data.get("any") or ()), **number)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("min", "max", "includes"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.any:
            out["any"] = list(self.any)
        return out


def parse_facets(raw: Any) -> tuple[tuple[str, FacetValue], ...]:
    """A row's `facets` object as sorted (name, value) pairs; ValueError with the reason for a bad one."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, dict):
        raise ValueError("'facets' must be an object of name: value")
    if len(raw) > MAX_FACETS:
        raise ValueError(f"'facets' holds more than {MAX_FACETS} facets")
    out: list[tuple[str, FacetValue]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_FACET_NAME:
            raise ValueError(f"facet names must be non-empty strings of at most {MAX_FACET_NAME} characters")
        out.append((name.strip(), _facet_value(name, value)))
    return tuple(sorted(out))


def _facet_value(name: str, value: Any) -> FacetValue:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"facet {name!r} holds a NUL character")
        return value.strip().lower()
    if isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise ValueError(f"facet {name!r}: a range's first number must not exceed its second")
        return (low, high)
    if (
        isinstance(value, list)
        and len(value) <= MAX_LIST
        and all(isinstance(v, str) and "\x00" not in v for v in value)
    ):
        return tuple(v.strip().lower() for v in value if v.strip())
    raise ValueError(f"facet {name!r} must be a number, a [min, max] pair of numbers, a string or a list of strings")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def satisfies(value: FacetValue | None, bound: Bound) -> bool:
    """Whether a facet value meets the bound; an item without the facet does not."""
    if value is None:
        return False
    if isinstance(value, float):
        return (
            (bound.min is None or value >= bound.min)
            and (bound.max is None or value <= bound.max)
            and (bound.includes is None or value == bound.includes)
            and (not bound.any or str(value) in bound.any)
        )
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], float) and isinstance(value[1], float):
        low, high = value[0], value[1]
        return (
            (bound.includes is None or low <= bound.includes <= high)
            and (bound.min is None or low >= bound.min)
            and (bound.max is None or high <= bound.max)
            and not bound.any
        )
    values = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
    if bound.min is not None or bound.max is not None or bound.includes is not None:
        return False
    return not bound.any or bool({a.lower() for a in bound.any}.intersection(values))


def sidecar_path(catalog: Path) -> Path | None:
    """The facets sidecar of a catalog file (`NAME.facets.yaml` beside `NAME.jsonl`), or of a folder (the one
    `*.facets.yaml` in it); None when there is none."""
    if catalog.is_dir():
        found = sorted(catalog.glob("*.facets.yaml"))
        return found[0] if found else None
    path = catalog.with_name(catalog.name.split(".")[0] + ".facets.yaml")
    return path if path.is_file() else None


def load_sidecar(path: Path) -> dict[str, FacetSpec]:
    """The facet specs of a sidecar file; ValueError naming the problem."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the facets file must map facet names to their descriptions")
    return {str(name): _spec(path, str(name), spec) for name, spec in data.items()}


def _spec(path: Path, name: str, raw: Any) -> FacetSpec:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: facet {name!r} must be a mapping (type, unit, words)")
    kind = str(raw.get("type", ""))
    if kind not in FACET_TYPES:
        raise ValueError(f"{path}: facet {name!r} has type {kind!r}; known: {', '.join(FACET_TYPES)}")
    words = raw.get("words") or []
    zh = raw.get("zh") or {}
    aliases = raw.get("aliases") or {}
    if not isinstance(words, list) or not isinstance(zh, dict) or not isinstance(aliases, dict):
        raise ValueError(f"{path}: facet {name!r}: `words` must be a list, `zh` and `aliases` mappings")
    if not all(isinstance(v, list) for v in aliases.values()):
        raise ValueError(f"{path}: facet {name!r}: each of `aliases` must be a list of words")
    return FacetSpec(
        name,
        kind,
        str(raw.get("unit", "") or ""),
        tuple(str(w).lower() for w in words),
        str(raw.get("scale", "") or ""),
        tuple(sorted((str(k).lower(), str(v)) for k, v in zh.items())),
        tuple(sorted((str(k).lower(), tuple(str(w).lower() for w in v)) for k, v in aliases.items())),
    )


def infer_specs(rows: Iterable[Mapping[str, FacetValue]]) -> dict[str, FacetSpec]:
    """Facet specs read from the values when a catalog has no sidecar: the type of each facet's first value."""
    specs: dict[str, FacetSpec] = {}
    for facets in rows:
        for name, value in facets.items():
            if name not in specs:
                specs[name] = FacetSpec(name, _type_of(value))
    return specs


def _type_of(value: FacetValue) -> str:
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if len(value) == 2 and all(isinstance(v, float) for v in value):
        return "range"
    return "list"
