"""Candidates for one turn: store neighbours of the query, named items, collaborative neighbours, items sharing
people with the named ones, and the most popular items; filtered by the conversation's kind and constraints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import islice

import numpy as np

from chatrec.catalog.facets import Bound, satisfies
from chatrec.catalog.items import Item
from chatrec.ranking.signals import PeopleIndex, shared_people
from chatrec.reading.critiques import NOT_FOR_FAMILIES
from chatrec.reading.lexicon import canonical_genre
from chatrec.users.interests import InterestState

NEIGHBOUR_CANDIDATES = 100  # collaborative and shared-people neighbours joined to the store's answer
POPULAR_CANDIDATES = 100
CONSTRAINED_CANDIDATES = 300  # items that fit the constraints, joined to the candidates


class Excluded:
    """The items a conversation rules out: the rejected ones, and any carrying an avoided genre (in any of its
    catalog spellings) or person. Asked item by item, for the candidates of a turn, never by scanning the catalog."""

    def __init__(
        self, items: Mapping[str, Item], rejected: Iterable[str], genres: Iterable[str], people: Iterable[str]
    ) -> None:
        self.items = items
        self.rejected = frozenset(rejected)
        self.genres, self.people = frozenset(genres), frozenset(people)

    def __contains__(self, item_id: object) -> bool:
        if item_id in self.rejected:
            return True
        if not (self.genres or self.people) or not isinstance(item_id, str):
            return False
        item = self.items.get(item_id)
        return item is not None and carries(item, self.genres, self.people)

    @property
    def by_facts(self) -> bool:
        """Whether items are ruled out for what they are (a genre or a person), not only by id."""
        return bool(self.genres or self.people)


def carries(item: Item, genres: AbstractSet[str], people: AbstractSet[str]) -> bool:
    """The item has one of these genres (canonical names) or people among its creators or cast."""
    return (
        any(canonical_genre(g) in genres for g in item.genres)
        or any(p in people for p in item.creators)
        or any(p in people for p in item.cast)
    )


def bounds_of(state: InterestState) -> tuple[Bound, ...]:
    """The conversation's facet bounds, read once for the many items a turn tests."""
    return tuple(Bound.from_dict(bound) for bound in state.facets.values())


def fits(item: Item, state: InterestState, kind: str | None, bounds: Sequence[Bound] | None = None) -> bool:
    """The item meets the conversation's constraints: kind, years, language, facets, suitable for a family
    (`bounds`: `bounds_of(state)`, when the caller tests many items)."""
    if kind is not None and item.kind != kind:
        return False
    if state.year_min is not None and (item.year is None or item.year < state.year_min):
        return False
    if state.year_max is not None and (item.year is None or item.year > state.year_max):
        return False
    if state.item_language is not None and item.language != state.item_language:
        return False
    if bounds is None:
        bounds = bounds_of(state)
    if any(not satisfies(item.facet(bound.name), bound) for bound in bounds):
        return False
    return not (state.family and any(canonical_genre(g) in NOT_FOR_FAMILIES for g in item.genres))


def shared_with(
    index: PeopleIndex, ids: Sequence[str], row: dict[str, int], seeds: dict[str, float]
) -> tuple[np.ndarray, list[str]]:
    """The `people` term for every catalog row, and the items scoring highest on it (best first, above 0)."""
    rows = {row[i]: w for i, w in seeds.items() if i in row}
    scores = shared_people(index, rows)
    found = np.flatnonzero(scores)
    if len(found) > NEIGHBOUR_CANDIDATES:
        found = found[np.argpartition(-scores[found], NEIGHBOUR_CANDIDATES - 1)[:NEIGHBOUR_CANDIDATES]]
    best = found[np.argsort(-scores[found], kind="stable")]
    return scores, [ids[r] for r in best]


def gather(
    store_hits: dict[str, float],
    named: Sequence[str],
    neighbours: Sequence[str],
    sharing: Sequence[str],
    popular: Sequence[str],
    allowed: Callable[[str], bool],
    fitting: Sequence[str] = (),
) -> list[str]:
    """Every candidate once, the store's answer first: the union of the sources, less what is not allowed."""
    extra = [*named, *list(neighbours)[:NEIGHBOUR_CANDIDATES], *sharing, *list(popular)[:POPULAR_CANDIDATES], *fitting]
    return [i for i in dict.fromkeys([*store_hits, *extra]) if allowed(i)]


class Columns:
    """Each item's kind, year, language and family fitness as numpy columns, rows in a fixed order (the catalog by
    popularity): the items that may fit a conversation's constraints come from one vectorised mask, and only those
    are tested item by item (`fits`, which also checks the facets)."""

    def __init__(self, items: Mapping[str, Item], order: Sequence[str]) -> None:
        self.ids = list(order)
        rows = [items[i] for i in self.ids]
        self.kinds = {k: n for n, k in enumerate(dict.fromkeys(it.kind for it in rows))}
        self.kind = np.array([self.kinds[it.kind] for it in rows], dtype=np.int32)
        self.year = np.array([np.nan if it.year is None else it.year for it in rows], dtype=np.float64)
        self.languages = {k: n for n, k in enumerate(dict.fromkeys(it.language for it in rows))}
        self.language = np.array([self.languages[it.language] for it in rows], dtype=np.int32)
        self.family = np.array(
            [not any(canonical_genre(g) in NOT_FOR_FAMILIES for g in it.genres) for it in rows], dtype=bool
        )

    def may_fit(self, state: InterestState, kind: str | None) -> Iterator[str]:
        """The ids, in order, that pass every constraint but the facets (the same tests as `fits`)."""
        mask = np.ones(len(self.ids), dtype=bool)
        if kind is not None:
            mask &= self.kind == self.kinds.get(kind, -1)
        with np.errstate(invalid="ignore"):  # an item without a year fits no year bound (nan compares false)
            if state.year_min is not None:
                mask &= self.year >= state.year_min
            if state.year_max is not None:
                mask &= self.year <= state.year_max
        if state.item_language is not None:
            mask &= self.language == self.languages.get(state.item_language, -1)
        if state.family:
            mask &= self.family
        return (self.ids[row] for row in np.flatnonzero(mask))


def constrained(items: Mapping[str, Item], state: InterestState, kind: str | None, columns: Columns) -> list[str]:
    """When the conversation constrains facets, years or language, the items that fit (most popular first, at most
    CONSTRAINED_CANDIDATES): a store query ranks by meaning alone and may return few that fit."""
    if not (state.facets or state.year_min or state.year_max or state.item_language):
        return []
    bounds = bounds_of(state)
    fitting = (i for i in columns.may_fit(state, kind) if fits(items[i], state, kind, bounds))  # stops when enough
    return list(islice(fitting, CONSTRAINED_CANDIDATES))
