"""Candidates for one turn: store neighbours of the query, named items, collaborative neighbours, items sharing
people with the named ones, and the most popular items; filtered by the conversation's kind and constraints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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


def fits(item: Item, state: InterestState, kind: str | None) -> bool:
    """The item meets the conversation's constraints: kind, years, language, suitable for a family."""
    if kind is not None and item.kind != kind:
        return False
    if state.year_min is not None and (item.year is None or item.year < state.year_min):
        return False
    if state.year_max is not None and (item.year is None or item.year > state.year_max):
        return False
    if state.item_language is not None and item.language != state.item_language:
        return False
    if any(not satisfies(item.facet(name), Bound.from_dict(bound)) for name, bound in state.facets.items()):
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


def constrained(items: dict[str, Item], state: InterestState, kind: str | None, popular: Sequence[str]) -> list[str]:
    """When the conversation constrains facets, years or language, the items that fit (most popular first, at most
    CONSTRAINED_CANDIDATES): a store query ranks by meaning alone and may return few that fit."""
    if not (state.facets or state.year_min or state.year_max or state.item_language):
        return []
    fitting = (i for i in popular if i in items and fits(items[i], state, kind))  # stops at the last one needed
    return list(islice(fitting, CONSTRAINED_CANDIDATES))
