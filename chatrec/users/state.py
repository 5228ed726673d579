"""The dialogue state as a person sees and edits it: `view` (now, less of for now, never, what you named) and
`edit`, a pure function that removes entries from an `InterestState`.

Every entry of the view has a `value` (what an edit names it by), a `text` (as shown, in the view's language) and a
`field`: the key under `remove` that takes it away, so that a client needs no table of its own:

    edit(state, {"remove": {"less_of": ["horror"], "constraints": ["facet:players"], "items": ["m-alien"]}})

What each removal does (nothing else changes):
- `wants`: the interest word leaves the interests (the panel, the reasons), and the messages already said are marked
  so that the ranker reads them without it (its words cut from the text, out of the topic); saying it again brings
  it back.
- `kind`: no kind is asked for any more; `constraints`: the bound is lifted ("years", "language", "family",
  "facet:NAME"); `less_of`, `never_genres`, `never_people`: the genre or person is no longer turned away.
- `items`: what the user said of the item is forgotten (liked, disliked, seen): it may be recommended again. Its
  negative vector goes too when the caller gives the item's vector; the small push a thumbs down gave the interest
  vectors stays (later messages overwrite it).
A bad change (an unknown field, a value that is not there, a wrong type) raises `InputError` and changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chatrec.catalog.facets import Bound, FacetSpec
from chatrec.catalog.items import Catalog
from chatrec.catalog.kinds import kind_name
from chatrec.errors import InputError
from chatrec.reading.lexicon import GENRE_ZH, canonical_genre
from chatrec.users.interests import InterestState, normalise

FIELDS = ("wants", "kind", "constraints", "less_of", "never_genres", "never_people", "items")
SAID = ("liked", "disliked", "seen")  # what the user said of an item they named, strongest first
MAX_VALUES = 200  # values one edit may remove
SAME_VECTOR = 0.999  # cosine above which a negative vector is the item's own
CJK = re.compile(r"[\u3400-\u9fff]")
LANGUAGES = {"en": ("English", "英语"), "zh": ("Chinese", "中文"), "ja": ("Japanese", "日语"), "ko": ("Korean", "韩语")}
LANGUAGES |= {"fr": ("French", "法语"), "de": ("German", "德语"), "es": ("Spanish", "西班牙语")}
FACET_ZH = {"players": "人数", "minutes": "时长", "weight": "重度", "age": "年龄", "mechanics": "机制"}
UNIT_ZH = {"players": "人", "minutes": "分钟", "hours": "小时", "years": "岁", "pages": "页"}


@dataclass(frozen=True)
class Entry:
    """One thing the state holds, as shown: `value` names it in an edit under `remove[field]`."""

    field: str
    value: str
    text: str
    said: str = ""  # for a named item: "liked", "disliked" or "seen"

    def as_dict(self) -> dict[str, str]:
        out = {"field": self.field, "value": self.value, "text": self.text}
        return {**out, "said": self.said} if self.said else out


@dataclass(frozen=True)
class StateView:
    """What the recommender goes by: the request now, what is turned away (for now, or always), what was named."""

    kind: Entry | None
    wants: tuple[Entry, ...]
    constraints: tuple[Entry, ...]
    less_of: tuple[Entry, ...]
    never_genres: tuple[Entry, ...]
    never_people: tuple[Entry, ...]
    never_items: tuple[Entry, ...]
    named: tuple[Entry, ...]

    def as_dict(self) -> dict[str, Any]:
        def rows(entries: Sequence[Entry]) -> list[dict[str, str]]:
            return [e.as_dict() for e in entries]

        return {
            "now": {
                "kind": self.kind.as_dict() if self.kind else None,
                "wants": rows(self.wants),
                "constraints": rows(self.constraints),
            },
            "less_of": rows(self.less_of),
            "never": {
                "genres": rows(self.never_genres),
                "people": rows(self.never_people),
                "items": rows(self.never_items),
            },
            "named": rows(self.named),
        }


def _same(text: str) -> str:
    return text


def _always(_: str) -> bool:
    return True


@dataclass(frozen=True)
class Words:
    """How a view names what it shows (the engine gives its catalog's and glossaries'); by default, as stored."""

    lang: str = "en"
    term: Callable[[str], str] = _same  # an interest word or a genre, as shown
    known: Callable[[str], bool] = _always  # which interest words are shown (the reader's vocabulary)
    kind: Callable[[str], str] = _same
    title: Callable[[str], str | None] = _same  # an item's title; None: not in the catalog (left out)
    facets: Mapping[str, FacetSpec] = field(default_factory=dict)


class Names:
    """The words of one catalog for views: its genres in Chinese (the rows' `genres_zh`, else the bundled glossary),
    its kinds, titles and facets; `known`: which interest words are shown."""

    def __init__(self, catalog: Catalog, known: Callable[[str], bool] = _always) -> None:
        self.catalog, self.known = catalog, known
        self.genres_zh: dict[str, str] = {}
        for item in catalog:
            for genre, chinese in zip(item.genres, item.genres_zh):
                self.genres_zh.setdefault(canonical_genre(genre), chinese)

    def term(self, term: str, lang: str) -> str:
        """An interest word or genre in `lang`: Chinese genre names for Chinese, else as stored."""
        if lang != "zh":
            return term
        canonical = canonical_genre(term)
        return GENRE_ZH.get(canonical) or self.genres_zh.get(canonical, term)

    def common_genres(self, most: int = 3) -> list[tuple[str, str]]:
        """The catalog's most common genres as (as written, in Chinese), of those with a Chinese name."""
        counts = Counter(g.lower() for item in self.catalog for g in item.genres)
        named = [(g, self.term(g, "zh")) for g, _ in counts.most_common()]
        return [(g, zh) for g, zh in named if zh != g and CJK.search(zh)][:most]

    def title(self, item_id: str) -> str | None:
        item = self.catalog.items.get(item_id)
        return item.display_title if item is not None else None

    def words(self, lang: str) -> Words:
        return Words(
            lang,
            lambda t: self.term(t, lang),
            self.known,
            lambda k: kind_name(k, lang, plural=True),
            self.title,
            self.catalog.facets,
        )


def view(state: InterestState, words: Words = Words()) -> StateView:
    """The state as the panel shows it, in `words.lang`."""

    def entries(name: str, values: Sequence[str], text: Callable[[str], str] = words.term) -> tuple[Entry, ...]:
        return tuple(Entry(name, v, text(v)) for v in values)

    def items(ids: Sequence[str], said: str = "") -> tuple[Entry, ...]:
        titled = [(i, words.title(i)) for i in ids]
        return tuple(Entry("items", i, title, said) for i, title in titled if title is not None)

    rejected = set(state.rejected)
    named = [*state.liked, *state.rejected, *state.seen]
    return StateView(
        kind=Entry("kind", state.kind, words.kind(state.kind)) if state.kind else None,
        wants=entries("wants", [t for t in state.terms if words.known(t)]),
        constraints=tuple(Entry("constraints", key, constraint_text(state, key, words)) for key in constraints(state)),
        less_of=entries("less_of", state.soft_avoid_genres),
        never_genres=entries("never_genres", state.avoid_genres),
        never_people=entries("never_people", state.avoid_people, _same),
        never_items=items(state.rejected),
        named=tuple(e for i in dict.fromkeys(named) for e in items([i], said_of(state, i, rejected))),
    )


def said_of(state: InterestState, item_id: str, rejected: set[str] | None = None) -> str:
    """What the user said of an item: "disliked" (rejected), "liked" (thumbs up), else "seen" (named as known)."""
    if item_id in (rejected if rejected is not None else set(state.rejected)):
        return "disliked"
    return "liked" if item_id in state.liked else "seen"


def constraints(state: InterestState) -> list[str]:
    """The keys of the state's constraints, as edits name them: "years", "language", "family", "facet:NAME"."""
    keys = ["years"] if state.year_min is not None or state.year_max is not None else []
    keys += ["language"] if state.item_language else []
    keys += ["family"] if state.family else []
    return keys + [f"facet:{name}" for name in state.facets]


def constraint_text(state: InterestState, key: str, words: Words = Words()) -> str:
    """A constraint in words: "1990–1999", "language: Chinese", "family", "players: 2", "时长：最多 30 分钟"."""
    zh = words.lang == "zh"
    if key == "years":
        low, high = state.year_min, state.year_max
        if low is not None and high is not None:
            return f"{low}–{high}年" if zh else f"{low}–{high}"
        return (
            (f"{low}年起" if zh else f"from {low}") if low is not None else (f"{high}年以前" if zh else f"until {high}")
        )
    if key == "language":
        code = state.item_language or ""
        name = LANGUAGES.get(code, (code, code))[1 if zh else 0]
        return f"语言：{name}" if zh else f"language: {name}"
    if key == "family":
        return "适合全家" if zh else "family"
    name = key.removeprefix("facet:")
    bound = Bound.from_dict({**state.facets.get(name, {}), "name": name})
    return facet_text(bound, words.facets.get(name), zh)


def facet_text(bound: Bound, spec: FacetSpec | None, zh: bool) -> str:
    """A facet bound in words: "players: 2", "minutes: at most 30", "mechanics: dice or drafting", "人数：2 人"."""
    unit = UNIT_ZH.get(spec.unit, "") if zh and spec else ""

    def number(value: float) -> str:
        return f"{value:g} {unit}".strip()

    parts = [number(bound.includes)] if bound.includes is not None else []
    if bound.min is not None:
        parts.append(f"至少 {number(bound.min)}" if zh else f"at least {bound.min:g}")
    if bound.max is not None:
        parts.append(f"最多 {number(bound.max)}" if zh else f"at most {bound.max:g}")
    if bound.any:
        values = [spec.value_zh(a).split("/")[0] if zh and spec else a for a in bound.any]
        parts.append("或".join(values) if zh else " or ".join(values))
    if zh:
        return f"{facet_label_zh(bound.name, spec)}：{'，'.join(parts)}"
    return f"{bound.name}: {', '.join(parts)}"


def facet_label_zh(name: str, spec: FacetSpec | None) -> str:
    """A facet's name in Chinese: a known one's, else the sidecar's first Chinese word for it, else as written."""
    if name in FACET_ZH:
        return FACET_ZH[name]
    chinese = [w for w in (spec.words if spec else ()) if CJK.search(w)]
    return max(chinese, key=len) if chinese else name


# -- edits --------------------------------------------------------------------------------------------------------
def edit(
    state: InterestState, change: Mapping[str, Any], vectors: Mapping[str, np.ndarray] | None = None
) -> InterestState:
    """A new state with `change["remove"]` taken away (see the module's docstring); `state` is never changed.
    `vectors`: item vectors of the items removed, whose negative vectors then go too."""
    remove = removal(change)
    _check_present(state, remove)
    facets = {k: v for k, v in state.facets.items() if f"facet:{k}" not in remove.get("constraints", ())}
    gone = set(remove.get("items", ()))
    lifted = set(remove.get("constraints", ()))
    new = replace(
        state,
        terms={t: w for t, w in state.terms.items() if t not in remove.get("wants", ())},
        kind=None if remove.get("kind") else state.kind,
        soft_avoid_genres=[g for g in state.soft_avoid_genres if g not in remove.get("less_of", ())],
        avoid_genres=[g for g in state.avoid_genres if g not in remove.get("never_genres", ())],
        avoid_people=[p for p in state.avoid_people if p not in remove.get("never_people", ())],
        liked=[i for i in state.liked if i not in gone],
        rejected=[i for i in state.rejected if i not in gone],
        seen=[i for i in state.seen if i not in gone],
        negatives=_without(state.negatives, [v for i, v in (vectors or {}).items() if i in gone]),
        facets=facets,
        dialogue=_unwanted(state.dialogue, remove.get("wants", ())),
    )
    if "years" in lifted:
        new.year_min = new.year_max = None
    if "language" in lifted:
        new.item_language = None
    if "family" in lifted:
        new.family = False
    return new


def _unwanted(dialogue: list[dict[str, Any]], wants: Sequence[str]) -> list[dict[str, Any]]:
    """The dialogue with each message so far marked as no longer saying `wants` (the ranker reads them so)."""
    if not wants:
        return dialogue
    return [{**e, "unwanted": list(dict.fromkeys([*e.get("unwanted", ()), *wants]))} for e in dialogue]


def removal(change: Mapping[str, Any]) -> dict[str, list[str]]:
    """`change["remove"]` when it is well formed: known fields, each a list of strings; else `InputError`."""
    if not isinstance(change, Mapping) or set(change) != {"remove"}:
        raise InputError('an edit is {"remove": {FIELD: [VALUE, ...]}}; fields: ' + ", ".join(FIELDS))
    remove = change["remove"]
    if not isinstance(remove, Mapping):
        raise InputError('"remove" must map fields to lists of values')
    unknown = [str(k) for k in remove if k not in FIELDS]
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(FIELDS)}")
    out: dict[str, list[str]] = {}
    for name, values in remove.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise InputError(f"{name!r} must be a list of strings, got {type(values).__name__}")
        if not all(isinstance(v, str) for v in values):
            raise InputError(f"{name!r} must be a list of strings")
        if values:
            out[name] = list(dict.fromkeys(values))
    if not out:
        raise InputError("the edit removes nothing")
    if sum(map(len, out.values())) > MAX_VALUES:
        raise InputError(f"one edit removes at most {MAX_VALUES} values")
    return out


def _check_present(state: InterestState, remove: Mapping[str, Sequence[str]]) -> None:
    """Every value to remove is in the state; else `InputError` naming the first that is not."""
    held: dict[str, Sequence[str]] = {
        "wants": list(state.terms),
        "kind": [state.kind] if state.kind else [],
        "constraints": constraints(state),
        "less_of": state.soft_avoid_genres,
        "never_genres": state.avoid_genres,
        "never_people": state.avoid_people,
        "items": [*state.liked, *state.rejected, *state.seen],
    }
    for name, values in remove.items():
        missing = [v for v in values if v not in held[name]]
        if missing:
            raise InputError(f"{missing[0][:100]!r} is not among the {name.replace('_', ' ')} of this profile")


def _without(negatives: list[np.ndarray], vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The negative vectors less those of `vectors` (a rejected item's negative is its unit vector)."""
    units = [normalise(np.asarray(v, np.float32)) for v in vectors if np.any(v)]
    return [n for n in negatives if not any(len(u) == len(n) and float(n @ u) > SAME_VECTOR for u in units)]
