"""Explanations: a grounded `why` for each recommendation, crediting only what the user asks for now, and the
reply's frame (the request as understood, one line per pick, notices) that the template and the writer share.

Only interest terms that pass `plain` (words the catalog itself uses) are ever shown back to the user.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chatrec.catalog.facets import satisfies
from chatrec.catalog.items import Item
from chatrec.ranking.order import Scored
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import EN_STOPWORDS, canonical_genre
from chatrec.reading.titles import norm
from chatrec.reading.understanding import Understanding
from chatrec.reply.facet_text import reading_order
from chatrec.reply.frame import Frame
from chatrec.reply.notices import INVITE, NOTHING, relaxed_notices, unknown_notice
from chatrec.reply.opening import opening_line
from chatrec.reply.reasons import Credit, Fact, fragment, item_facts, sentence, shared_fact
from chatrec.reply.request import Request, Said, understood
from chatrec.reply.words import CatalogWords
from chatrec.results import Recommendation
from chatrec.users.interests import InterestState

MOST_ASKED = 4  # facts one reason cites for what was asked (genres, people, themes, facets together)


def display_term(term: str, language: str, words: CatalogWords | None = None) -> str:
    """An interest term as the user reads it: in Chinese where the catalog, the lexicon or the glossary names it."""
    return (words or CatalogWords()).term(term, language)


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
    """Builds `Recommendation`s with reasons, and the frame of the reply that presents them."""

    def __init__(
        self,
        items: dict[str, Item],
        plain: Callable[[str], bool] = lambda t: True,
        known: Callable[[str], bool] = lambda t: True,
        read: Callable[[str], Understanding] | None = None,
        words: CatalogWords | None = None,
    ) -> None:
        self.items = items
        self.plain = plain
        self.known = known  # a term of the catalog's vocabulary (profiles saved before may hold other words)
        self.read = read  # the engine's cached reader: the conversation's messages as understood
        self.words = words if words is not None else CatalogWords.of(items.values())

    # -- the request -----------------------------------------------------------------------------------------
    def request(self, state: InterestState, topic: Sequence[str] | None = None) -> Request:
        """What the user asks for now, after the latest message (`topic`: the genres the ranker keeps to)."""
        read = self.read
        said = [
            Said(e.get("text", ""), read(e.get("text", "")))
            for e in state.dialogue
            if e["side"] == "seeker" and read is not None
        ]
        return understood(state, said, self.words, topic, lambda t: self.known(t) and self.plain(t))

    def wanted(self, request: Request, limit: int = 3) -> list[str]:
        """The wants to show the generator, in the user's language (never a term turned away from)."""
        terms = [t for t in request.wants if self.plain(t)][:limit]
        return [self.words.term(t, request.language) for t in terms]

    def interests(self, state: InterestState, limit: int | None = 3, display: bool = True) -> list[str]:
        """The user's interest terms that may be shown back (catalog vocabulary only, none turned away from),
        strongest first; in the user's language when `display`."""
        request = self.request(state)
        terms = [t for t in state.terms if self.known(t) and self.plain(t) and not request.turned_away(t)][:limit]
        return [self.words.term(t, state.language) for t in terms] if display else terms

    # -- reasons ---------------------------------------------------------------------------------------------
    def credit(
        self,
        item: Item,
        request: Request,
        said: str,
        cited: set[str] | None = None,
        mentions: Sequence[tuple[str, int]] = (),
    ) -> Credit:
        """What a reason may cite for the item, in this order: its facts that match the request (genres, people
        and themes asked for, facet values within the bounds); else a fact it shares with an item the user named
        (which mention: by kind and how many messages ago, never by title); else the fact nearest to what the
        user said (`said`: their latest message). Never a fact the user turned away from.

        `cited` holds the fact values earlier items of this turn cited; a fresh one is preferred among near facts.
        `mentions` are the items the user named, newest first, with how many of their messages ago."""
        cited = set() if cited is None else cited
        facts = [f for f in item_facts(item) if self._allowed(f, request)]
        asked = self._asked(item, request, facts)
        if asked:
            cited.update(f.value for f in asked)
            return Credit("asked", tuple(asked))
        for named_id, ago in mentions:
            named = self.items.get(named_id)
            fact = (
                shared_fact(item, named, lambda f: self._allowed(f, request)) if named and named_id != item.id else None
            )
            if fact and named:
                cited.add(fact.value)
                return Credit("named", (fact,), named.kind or "", ago)
        closest = self._closest_fact(facts, said, cited)
        if closest:
            cited.add(closest.value)
        return Credit("near", (closest,) if closest else ())

    def why(
        self,
        item: Item,
        state: InterestState,
        said: str,
        cited: set[str] | None = None,
        mentions: Sequence[tuple[str, int]] = (),
    ) -> str:
        """The reason as one sentence, for the state after the latest message."""
        credit = self.credit(item, self.request(state), said, cited, mentions)
        return sentence(credit, item, self.words, state.language)

    def _allowed(self, fact: Fact, request: Request) -> bool:
        """A fact a reason may cite: not a genre, theme or person the user turned away from."""
        if fact.field == "genre":
            return not request.turned_away(canonical_genre(fact.value)) and not request.turned_away(fact.value)
        if fact.field in ("creator", "cast"):
            return fact.value not in request.never_people
        return not request.turned_away(fact.value)

    def _asked(self, item: Item, request: Request, facts: list[Fact]) -> list[Fact]:
        """The item's facts that match the request: genres, people and themes asked for, and facet values within
        the conversation's bounds."""
        asked = list(request.genres)
        genres = [f for f in facts if f.field == "genre" and canonical_genre(f.value) in asked]
        genres = sorted(genres, key=lambda f: asked.index(canonical_genre(f.value)))[:2]  # in the request's order
        people = [f for f in facts if f.field in ("creator", "cast") and f.value in request.wants][:1]
        themes: list[Fact] = []
        for term in request.topics:
            fact = matching_fact(term, [f for f in facts if f.field == "tag"])
            if fact and fact not in themes:
                themes.append(fact)
        out = [*genres, *people, *themes[:1]]
        for bound in sorted(request.facets, key=lambda b: reading_order(b.name, self.words.facets)):
            value = item.facet(bound.name)
            if value is None or not satisfies(value, bound):
                continue
            if bound.any:
                own = (value,) if isinstance(value, str) else tuple(map(str, value)) if isinstance(value, tuple) else ()
                out += [Fact("facet", v, bound.name) for v in bound.any if v.lower() in own][:1]
            else:
                out.append(Fact("facet", "", bound.name))
        return out[:MOST_ASKED]

    def _closest_fact(self, facts: list[Fact], said: str, cited: set[str]) -> Fact | None:
        """The fact to cite when nothing asked for matches: a tag sharing a word with what the user said, else the
        first genre, tag or person not yet cited this turn (every one true of the item; no model needed)."""
        if not facts:
            return None
        words = set(norm(said).split()) - EN_STOPWORDS
        fresh = [f for f in facts if f.value not in cited] or facts
        return next((f for f in fresh if f.field == "tag" and words & set(norm(f.value).split())), None) or next(
            (f for f in fresh if f.field == "genre"), fresh[0]
        )

    def explain(
        self, chosen: list[Scored], request: Request, said: str, mentions: Sequence[tuple[str, int]] = ()
    ) -> list[tuple[Recommendation, str]]:
        """Each chosen item as a `Recommendation` (its `why` a sentence) and its reason as a short phrase."""
        out: list[tuple[Recommendation, str]] = []
        cited: set[str] = set()
        for scored in chosen:
            item = self.items[scored.item_id]
            credit = self.credit(item, request, said, cited, mentions)
            rec = Recommendation(
                item_id=item.id,
                title=item.title,
                score=round(scored.score, 4),
                why=sentence(credit, item, self.words, request.language),
                year=item.year,
                kind=item.kind,
                description=item.description,
            )
            out.append((rec, fragment(credit, item, self.words, request.language)))
        return out

    def recommendations(
        self, chosen: list[Scored], state: InterestState, said: str, mentions: Sequence[tuple[str, int]] = ()
    ) -> list[Recommendation]:
        return [rec for rec, _ in self.explain(chosen, self.request(state), said, mentions)]

    # -- the reply -------------------------------------------------------------------------------------------
    def frame(
        self,
        explained: Sequence[tuple[Recommendation, str]],
        request: Request,
        unknown: Sequence[str] = (),
        relaxed: Sequence[str] = (),
    ) -> Frame:
        """The reply around the picks: titles the catalog lacks, the request as understood, what gave way, a line
        per pick, and an invitation when nothing was asked for yet."""
        lang = "zh" if request.language == "zh" else "en"
        notice = unknown_notice(unknown, lang).strip()
        if not explained:
            return Frame(head=tuple(filter(None, [notice, NOTHING[lang]])), language=lang)
        other_kinds = any(rec.kind != request.kind for rec, _ in explained)
        notes = relaxed_notices(relaxed, request, self.words, other_kinds)
        head = [notice, opening_line(request, self.words, "." if notes else ":"), *notes]
        lines = tuple(f"{self._title(rec, lang)}{'——' if lang == 'zh' else ' — '}{why}" for rec, why in explained)
        asked = request.wants or request.named or request.facets or request.critiques
        tail = () if asked else (INVITE[lang],)
        return Frame(tuple(filter(None, head)), lines, tail, lang, relaxed=tuple(relaxed))

    @staticmethod
    def _title(rec: Recommendation, language: str) -> str:
        if language == "zh":
            return f"《{rec.title}》" + (f"（{rec.year}）" if rec.year else "")
        return rec.title + (f" ({rec.year})" if rec.year else "")
