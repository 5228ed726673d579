"""Explanations: a grounded `why` for each recommendation, and the template reply (used whenever generation is not).

Only interest terms that pass `plain` (words the catalog itself uses) are ever shown back to the user.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chatrec.catalog.items import Item
from chatrec.ranking.order import Scored
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import EN_STOPWORDS, GENRE_ZH, canonical_genre
from chatrec.reading.understanding import norm
from chatrec.reply.prompts import render, reply_template
from chatrec.reply.reasons import Fact, item_facts, reason, shared_fact
from chatrec.results import Recommendation
from chatrec.users.interests import InterestState

UNNAMED = {"en": "what you described", "zh": "你描述的内容"}


def display_term(term: str, language: str) -> str:
    """An interest term as the user reads it: genres in Chinese for Chinese sessions, the rest as the catalog has it."""
    return GENRE_ZH.get(term, term) if language == "zh" else term


def matching_fact(term: str, facts: Sequence[Fact]) -> Fact | None:
    """The item fact (tag, person) that an interest term names or shares a word with ("space" and "space opera")."""
    words = set(norm(term).split())
    exact = next((f for f in facts if f.field != "genre" and norm(f.value) == norm(term)), None)
    if exact or not words:
        return exact
    return next(
        (
            f
            for f in facts
            if f.field == "tag"
            and (
                words & set(norm(f.value).split()) - EN_STOPWORDS or (CJK.search(term) and norm(term) in norm(f.value))
            )
        ),
        None,
    )


class Explainer:
    """Builds `Recommendation`s with reasons, and the reply that presents them."""

    def __init__(
        self,
        items: dict[str, Item],
        plain: Callable[[str], bool] = lambda t: True,
        known: Callable[[str], bool] = lambda t: True,
    ) -> None:
        self.items = items
        self.plain = plain
        self.known = known  # a term of the catalog's vocabulary (profiles saved before may hold other words)

    def why(
        self,
        item: Item,
        state: InterestState,
        said: str,
        cited: set[str] | None = None,
        mentions: Sequence[tuple[str, int]] = (),
    ) -> str:
        """A reason that is true of the item and names an interest it really matches, in this order: a genre the
        user asked for that the item has; a fact it shares with an item the user named (saying which mention, by
        kind and how many messages ago, never by title); a tag or person of interest it has; else the item fact
        that fits what the user said (`said`: their latest message).

        `cited` holds the fact values earlier items of this turn cited; a fresh fact is preferred, and used is added.
        `mentions` are the items the user named, newest first, with how many of their messages ago.
        """
        cited = set() if cited is None else cited
        lang = state.language
        facts = item_facts(item)
        genre = self._asked_genre(item, state, facts, cited)
        if genre is not None:
            cited.add(genre.value)
            return reason(display_term(canonical_genre(genre.value), lang), genre, item, lang)
        for named_id, ago in mentions:
            named = self.items.get(named_id)
            fact = shared_fact(item, named) if named and named_id != item.id else None
            if fact:
                cited.add(fact.value)
                return reason("", fact, item, lang, liked_kind=(named.kind if named else "") or "", ago=ago)
        fresh = [f for f in facts if f.value not in cited]
        for term in self.interests(state, limit=None, display=False):
            fact = matching_fact(term, fresh) or matching_fact(term, facts)
            if fact:
                cited.add(fact.value)
                return reason(term, fact, item, lang)
        closest = self._closest_fact(facts, said, cited)
        if closest:
            cited.add(closest.value)
        return reason(UNNAMED.get(lang, UNNAMED["en"]), closest, item, lang)

    def _asked_genre(self, item: Item, state: InterestState, facts: list[Fact], cited: set[str]) -> Fact | None:
        """The item's genre fact for the strongest genre among the user's interests that it has, one not yet
        cited this turn if there is one."""
        genres = {canonical_genre(f.value): f for f in facts if f.field == "genre"}
        matching = [genres[t] for t in state.terms if t in genres]
        return next((f for f in matching if f.value not in cited), matching[0] if matching else None)

    def _closest_fact(self, facts: list[Fact], said: str, cited: set[str]) -> Fact | None:
        """The fact to cite when no interest names one: a tag sharing a word with what the user said, else the
        first genre, tag or person not yet cited this turn (every one true of the item; no model needed)."""
        if not facts:
            return None
        words = set(norm(said).split()) - EN_STOPWORDS
        fresh = [f for f in facts if f.value not in cited] or facts
        return next((f for f in fresh if f.field == "tag" and words & set(norm(f.value).split())), None) or next(
            (f for f in fresh if f.field == "genre"), fresh[0]
        )

    def recommendations(
        self, chosen: list[Scored], state: InterestState, said: str, mentions: Sequence[tuple[str, int]] = ()
    ) -> list[Recommendation]:
        out: list[Recommendation] = []
        cited: set[str] = set()
        for scored in chosen:
            item = self.items[scored.item_id]
            out.append(
                Recommendation(
                    item_id=item.id,
                    title=item.title,
                    score=round(scored.score, 4),
                    why=self.why(item, state, said, cited, mentions),
                    year=item.year,
                    kind=item.kind,
                    description=item.description,
                )
            )
        return out

    def interests(self, state: InterestState, limit: int | None = 3, display: bool = True) -> list[str]:
        """The user's interest terms that may be shown back (catalog vocabulary only), strongest first; genres in
        the user's language when `display`."""
        terms = [t for t in state.terms if self.known(t) and self.plain(t)][:limit]
        return [display_term(t, state.language) for t in terms] if display else terms

    def reply(self, recs: list[Recommendation], state: InterestState, avoided: list[str]) -> str:
        return render(
            reply_template(state.language),
            recommendations=recs,
            interests=self.interests(state),
            avoided=[display_term(a, state.language) for a in avoided if self.plain(a)],
        )
