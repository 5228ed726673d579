"""The public `Engine`: wires catalog, embedder, store, profiles, tracker, ranker and writer for each turn.

`Engine.load(settings)` is the one factory: it opens the configured parts (chatrec/backends/factory.py) and hands
them to `Engine(...)`, which takes any implementations of the ports (chatrec/ports.py): tests give it in-memory
doubles.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from types import EllipsisType
from typing import Any

import numpy as np

from chatrec.backends.embedders import load_embedder
from chatrec.backends.factory import open_profiles, open_store
from chatrec.backends.ingest import IngestReport, check_current, sync_catalog
from chatrec.catalog.database import CatalogDB
from chatrec.catalog.items import Catalog, Item, text_problem
from chatrec.catalog.remembered import load_chosen
from chatrec.config import Settings
from chatrec.errors import InputError, UnknownItemError
from chatrec.generators.loading import load_generator, load_reader
from chatrec.heap import Trimmer
from chatrec.ports import Embedder, Event, Generator, Limits, ProfileStore, VectorStore
from chatrec.ranking.adapter import Adapter
from chatrec.ranking.adapter import resolve as resolve_adapter
from chatrec.ranking.collaborative import Collaborative
from chatrec.ranking.item_vectors import ItemVectors
from chatrec.ranking.pipeline import Ranker
from chatrec.reading.title_file import FileTitleSet
from chatrec.reading.understanding import Understander, Understanding, core_words
from chatrec.reply.explain import Explainer, display_term
from chatrec.reply.frame import Frame
from chatrec.reply.grounding import Grounding
from chatrec.reply.request import Request
from chatrec.reply.vocabulary import open_catalog_file, write_catalog_file
from chatrec.reply.words import CatalogWords
from chatrec.reply.writer import ReplyWriter
from chatrec.results import Recommendation, Turn
from chatrec.users.interests import InterestState, drift
from chatrec.users.state import Names, edit, removal, view
from chatrec.users.stored import state_to_json
from chatrec.users.tracker import Tracker

MAX_USER_ID = 200
TEXT_CACHE = 20_000  # texts and readings kept (the same utterances come back turn after turn)
PRUNE_EVERY_S = 3600.0  # old events are deleted at load and then at most this often, after a turn


class Engine:
    """One catalog, one store, many users. Thread-safe per user; one Engine per data folder."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        embedder: Embedder,
        store: VectorStore,
        profiles: ProfileStore,
        generator: Generator | None = None,
        collaborative: Collaborative | None = None,
        adapter: Adapter | None = None,
        report: IngestReport | None = None,
        catalog_db: CatalogDB | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.embedder = embedder
        self.store = store
        self.profiles = profiles
        self.ingest_report = report or IngestReport(0, 0, 0, len(catalog))
        self.items: dict[str, Item] = catalog.items
        self.catalog_db = catalog_db  # the data folder's catalog file (reply/vocabulary.py), else built in memory
        self.understander = Understander(list(catalog), catalog.facets, catalog_db)
        self.reader: Any = self.understander  # `read(message)`; the model reader when `reader` is not "rules"
        self.vectors = ItemVectors(store)
        self.tracker = Tracker(self.embed_texts, self.vectors, settings, self.creators_of)
        own_titles = FileTitleSet(catalog_db) if catalog_db is not None else None
        self.grounding = Grounding(catalog, self.understander.titles, catalog_db, own_titles)
        self.names = Names(catalog, self.understander.vocabulary.__contains__)  # the words of the state's view
        self.words = CatalogWords.of(catalog, catalog.facets)  # the catalog's kinds and its words in Chinese
        self.explainer = Explainer(
            self.items,
            plain=self.grounding.is_plain,
            known=self.understander.vocabulary.__contains__,
            read=self.read_utterance,
            words=self.words,
        )
        self.generator = generator
        self.on_stage: Callable[[str, float], None] | None = None  # per-stage timings of each turn (serve/metrics.py)
        self.writer = ReplyWriter(
            generator,
            self.grounding,
            Limits(
                max_new_tokens=settings.max_new_tokens,
                budget_s=settings.generation_budget_s,
                wait_s=settings.generation_wait_s,
            ),
            words=self.words,
        )
        self._read_cache: OrderedDict[str, Understanding] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.ranker = Ranker(
            settings, store, self.vectors, self.items, self.tracker, self.read_utterance, collaborative, adapter
        )
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # users with a call in flight: (lock, callers)
        self._locks_guard = threading.Lock()
        self._trimmer = Trimmer()  # gives back freed memory after the load and turns, at most twice a minute
        self._pruned = float("-inf")

    @classmethod
    def load(cls, settings: Settings | None = None, progress: bool = False) -> Engine:
        """Open (and bring up to date) the store for the configured catalog; embeds only new or changed items.

        The catalog is the one configured, else the one the data folder was built from (chatrec/catalog/remembered.py),
        else the bundled one; another one than the folder's needs `replace_catalog`, else nothing is changed.

        Also opens the profile store (`profiles_url`), loads the configured generator (converted once into the model
        cache on first use), the collaborative model fitted by `chatrec ingest --interactions` for this catalog (if
        any) and the query adapter.
        """
        settings, catalog, choice = load_chosen(settings or Settings())
        embedder = load_embedder(settings.embedder, settings.threads, settings.precision)
        generator = load_generator(
            settings.generator,
            settings.model_cache,
            settings.generator_threads,
            settings.generator_backend,
            settings.generator_url,
            settings.generator_slots,
        )
        adapter = resolve_adapter(settings.adapter, embedder.id)
        store = open_store(settings, embedder)
        profiles: ProfileStore | None = None
        catalog_db: CatalogDB | None = None
        try:
            if settings.ingest_on_start:
                report = sync_catalog(store, catalog, embedder, settings, choice, progress=progress)
                write_catalog_file(settings.data_dir, catalog, embedder.id, progress)  # what the next start reads
                catalog_db = open_catalog_file(settings.data_dir, len(catalog), embedder.id)
            else:
                catalog_db = open_catalog_file(settings.data_dir, len(catalog), embedder.id)
                report = check_current(store, catalog, embedder, synced=catalog_db is not None)
            collaborative = Collaborative.load(settings.collaborative_dir, list(catalog.items))
            profiles = open_profiles(settings)
            engine = cls(
                settings, catalog, embedder, store, profiles, generator, collaborative, adapter, report, catalog_db
            )
            if settings.reader != "rules":
                engine.reader = load_reader(engine.understander, settings)
            engine.writer.warm()
            engine.prune_events()
            engine._trimmer.maybe()  # what embedding the catalog and warming the generator freed
            return engine
        except BaseException:
            if profiles is not None:
                profiles.close()
            if catalog_db is not None:
                catalog_db.close()
            store.close()
            raise

    def close(self) -> None:
        self.profiles.close()
        self.store.close()
        if self.catalog_db is not None:
            self.catalog_db.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------------------------------
    def chat(self, user_id: str, message: str) -> Turn:
        """Read one message, update the user's interests, recommend, and reply (the whole turn at once)."""
        *_, turn = self.chat_stream(user_id, message)
        assert turn.final
        return turn

    def chat_stream(self, user_id: str, message: str) -> Iterator[Turn]:
        """The same turn as `chat`, as it happens: first the recommendations with no text, then the reply growing,
        and last a `final` turn whose reply is either the grounded generated text or the template reply."""
        user_id, message = self._check_user(user_id), self._check_message(message)
        started = time.perf_counter()
        with self._user_lock(user_id):  # one turn at a time per user, in every process
            now = time.time()
            u = self.read_utterance(message)
            read = time.perf_counter()
            self._stage("read", read - started)

            def turn(state: InterestState) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
                self.tracker.new_session(state, now)
                self.tracker.hear(state, message, u, now)
                recs, frame, request = self._recommend(state, u, now)
                self.tracker.answered(state, "", [r.item_id for r in recs], now)
                state.turns += 1
                events: list[Event] = [("message", {"text": message}), ("shown", {"items": [r.item_id for r in recs]})]
                return events, (state, recs, frame, request)

            state, recs, frame, request = self.profiles.update(user_id, self.embedder.dim, turn, now)
        self._stage("rank", time.perf_counter() - read)
        base = Turn(
            reply="",
            recommendations=recs,
            language=state.language,
            notes=tuple(_notes(u)),
            final=False,
            unknown=u.unknown,
            relaxed=frame.relaxed,
        )
        yield base
        chosen = [self.items[r.item_id] for r in recs]
        interests = self.explainer.wanted(request)
        avoided = [*request.for_now, *request.never]
        texted = False
        for draft in self.writer.write(interests, chosen, state.language, frame, avoided):
            if draft.text and not texted:
                texted = True
                self._stage("first_text", time.perf_counter() - started)
            if draft.final:
                self._stage("full_reply", time.perf_counter() - started)
                self._trimmer.maybe()  # in its own thread: no reply waits for it
                self._maybe_prune()
            yield replace(
                base,
                reply=draft.text,
                final=draft.final,
                source=draft.source,
                problem=draft.problem,
                busy=draft.busy,
            )

    def _stage(self, stage: str, seconds: float) -> None:
        """Tell `on_stage` (the server's metrics, if any) how long a stage of a turn took: read, rank, first_text,
        full_reply (the last two from the turn's start)."""
        if self.on_stage is not None:
            self.on_stage(stage, seconds)

    def readiness(self) -> dict[str, str]:
        """Whether each part this engine needs answers now: "ok", or what is wrong (never raises)."""
        checks: dict[str, str] = {}
        for part, probe in (
            ("store", lambda: self.store.count()),
            ("profiles", lambda: self.profiles.load("readiness-check", self.embedder.dim)),
        ):
            try:
                probe()
                checks[part] = "ok"
            except Exception as exc:  # a readiness check reports, it does not fail
                checks[part] = f"{type(exc).__name__}: {str(exc)[:200]}"
        health = getattr(self.generator, "health", None)  # a generator served elsewhere says whether it answers
        checks["generator"] = (
            health() if callable(health) else "ok" if self.generator is not None else "none (template replies)"
        )
        return checks

    def feedback(self, user_id: str, item_id: str, liked: bool) -> None:
        """A thumbs up or down on one item; unknown item ids raise `ValueError`."""
        user_id = self._check_user(user_id)
        if not isinstance(item_id, str) or item_id not in self.items:
            raise UnknownItemError(f"unknown item id {item_id!r}")
        if not isinstance(liked, (bool, np.bool_)):
            raise InputError(f"liked must be True or False, got {liked!r}")
        liked = bool(liked)
        with self._user_lock(user_id):
            now = time.time()

            def thumbs(state: InterestState) -> tuple[list[tuple[str, dict[str, Any]]], None]:
                self.tracker.apply_feedback(state, item_id, liked, now)
                return [("feedback", {"item": item_id, "liked": liked})], None

            self.profiles.update(user_id, self.embedder.dim, thumbs, now)

    def profile(self, user_id: str, lang: str | None = None) -> dict[str, Any]:
        """The user's interests as the tracker sees them; `state`: the dialogue state as the panel shows it
        (chatrec/users/state.py), its texts in `lang` ("en" or "zh"; default: the language the user writes)."""
        user_id = self._check_user(user_id)
        state = self._state(user_id)
        lang = lang if lang in ("en", "zh") else state.language

        def titled(ids: Sequence[str]) -> list[dict[str, str]]:
            return [{"id": i, "title": self.items[i].display_title} for i in ids if i in self.items]

        return {
            "user_id": user_id,
            "terms": [
                {"term": display_term(t, state.language), "weight": round(w, 3)}
                for t, w in state.terms.items()
                if self.understander.vocabulary.__contains__(t)
            ],
            "liked": titled(state.liked),
            "rejected": titled(state.rejected),
            "mentioned": titled(state.seen),
            "avoid_genres": [display_term(g, state.language) for g in state.avoid_genres],
            "avoid_for_now": [display_term(g, state.language) for g in state.soft_avoid_genres],
            "avoid_people": list(state.avoid_people),
            "constraints": state.constraints,
            "kind": state.kind,
            "turns": state.turns,
            "language": state.language,
            "drift": round(drift(state.short, state.long), 4),
            "cold_start": state.is_cold,
            "state": view(state, self.names.words(lang)).as_dict(),
        }

    def edit_profile(self, user_id: str, change: dict[str, Any], lang: str | None = None) -> dict[str, Any]:
        """Remove entries from the user's dialogue state, e.g. `{"remove": {"less_of": ["horror"]}}` (the fields
        and what each removal does: chatrec/users/state.py); the new `profile`. A bad change raises `InputError`
        (a `ValueError`) and changes nothing; a good one is saved with an "edit" event."""
        user_id, remove = self._check_user(user_id), removal(change)
        vectors = self.vectors(remove.get("items", []))  # their negative vectors go with them
        with self._user_lock(user_id):

            def apply(state: InterestState) -> tuple[list[tuple[str, dict[str, Any]]], None]:
                state.__dict__.update(edit(state, change, vectors).__dict__)
                return [("edit", {"remove": remove})], None

            self.profiles.update(user_id, self.embedder.dim, apply, time.time())
        return self.profile(user_id, lang)

    def forget(self, user_id: str) -> None:
        """Delete everything stored about the user: the profile and events (overwritten on disk, the write-ahead
        log emptied) and every cached text of theirs in memory."""
        user_id = self._check_user(user_id)
        with self._user_lock(user_id):
            self.profiles.forget(user_id)
            self.purge_caches()

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about the user, as JSON data: the saved interest state (None for a user with none),
        the profile made of it (with the dialogue state as shown) and every event (messages, items shown, feedback,
        edits) in order."""
        import json

        user_id = self._check_user(user_id)
        state = self.profiles.load(user_id, self.embedder.dim)
        events = [{"ts": ts, "kind": kind, "payload": payload} for ts, kind, payload in self.profiles.events(user_id)]
        return {
            "user_id": user_id,
            "state": json.loads(state_to_json(state)) if state else None,
            "profile": self.profile(user_id) if state else None,  # the state as shown (`profile(...)["state"]`)
            "events": events,
        }

    def purge_caches(self) -> None:
        """Drop the caches of texts and their readings (they may hold what users wrote); they refill as needed."""
        with self._cache_lock:
            self._text_cache.clear()
            self._read_cache.clear()

    def prune_events(self) -> int:
        """Delete events older than `events_retention_days` (none when it is 0); how many went."""
        self._pruned = time.monotonic()
        days = self.settings.events_retention_days
        return self.profiles.prune_events(time.time() - days * 86400) if days > 0 else 0

    def rank(self, context: Sequence[str], k: int = 50) -> list[str]:
        """Stateless: rank the catalog for one dialogue (seeker first, turns alternating); best k item ids.

        The same pipeline as chat on a fresh user fed the context, in pure relevance order (no MMR): offline
        evaluation scores the ranking itself. The terms and their weights are in ranking/signals.py and `Settings`."""
        if (
            isinstance(context, (str, bytes))
            or not isinstance(context, Sequence)
            or not all(isinstance(u, str) for u in context)
        ):
            raise InputError("context must be a list of utterances (strings), seeker first")
        for utterance in context:
            _check_text(utterance, "an utterance")
        if isinstance(k, bool) or not isinstance(k, int):
            raise InputError(f"k must be a whole number, got {k!r}")
        if not 1 <= k <= len(self.items):
            k = max(1, min(k, len(self.items)))
        return self.ranker.rank(context, k)

    def ranker_variant(
        self,
        settings: Settings | None = None,
        adapter: Adapter | None | EllipsisType = ...,
        collaborative: Collaborative | None | EllipsisType = ...,
    ) -> Ranker:
        """The pipeline over this engine's store and caches with other settings, adapter or collaborative model
        (`...` keeps the engine's own): what offline ablations compare against `Engine.rank`."""
        settings = settings or self.settings
        return Ranker(
            settings,
            self.store,
            self.vectors,
            self.items,
            Tracker(self.embed_texts, self.vectors, settings, self.creators_of),
            self.read_utterance,
            self.ranker.collaborative if isinstance(collaborative, EllipsisType) else collaborative,
            self.ranker.adapter if isinstance(adapter, EllipsisType) else adapter,
        )

    def creators_of(self, item_id: str) -> tuple[str, ...]:
        item = self.items.get(item_id)
        return item.creators if item is not None else ()

    def read_utterance(self, utterance: str) -> Understanding:
        """One message or dialogue utterance as the pipeline reads it, cached: conversations are read again every
        turn, so each utterance is read once."""
        with self._cache_lock:
            u = self._read_cache.get(utterance)
        if u is None:
            u = self.reader.read(utterance)
            with self._cache_lock:
                self._read_cache[utterance] = u
                if len(self._read_cache) > TEXT_CACHE:
                    self._read_cache.popitem(last=False)
        return u

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """The embedder's vectors for `texts`, cached (the same utterances come back turn after turn)."""
        with self._cache_lock:
            known = {t: self._text_cache[t] for t in texts if t in self._text_cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.embed(missing)))
            with self._cache_lock:
                self._text_cache.update((t, known[t]) for t in missing)
                while len(self._text_cache) > TEXT_CACHE:
                    self._text_cache.popitem(last=False)
        return np.vstack([known[t] for t in texts])

    # -- inside a turn ---------------------------------------------------------------------------------------
    def _recommend(
        self, state: InterestState, u: Understanding, now: float
    ) -> tuple[list[Recommendation], Frame, Request]:
        """Chat's recommendations, and the reply's frame around them (the request as understood, what gave way, a
        line per pick): nothing until the user says what they like or what to leave out."""
        if not (state.dialogue and self._says_something(state)):
            request = self.explainer.request(state)
            return [], self.explainer.frame([], request, u.unknown), request
        chosen, given = self.ranker.recommend(state, self.settings.k)
        query = given.query if given.query is not None and np.any(given.query) else state.short
        self.tracker.settle(state, query, now)
        said = next((e.get("text", "") for e in reversed(state.dialogue) if e["side"] == "seeker"), "")
        request = self.explainer.request(state, [g for group in self.ranker.topic(state).groups for g in group])
        explained = self.explainer.explain(chosen, request, said, self._mentions(state))
        frame = self.explainer.frame(explained, request, u.unknown, given.relaxed)
        return [rec for rec, _ in explained], frame, request

    def _mentions(self, state: InterestState) -> list[tuple[str, int]]:
        """Items the user named in this conversation, newest first, with how many of their messages ago."""
        seeker = [e for e in state.dialogue if e["side"] == "seeker"]
        out: dict[str, int] = {}
        for ago, entry in enumerate(reversed(seeker)):
            for item in self.read_utterance(entry.get("text", "")).mentioned:
                out.setdefault(item, ago)
        return list(out.items())

    def _says_something(self, state: InterestState) -> bool:
        """The conversation gives anything to go on: words or titles of interest, or a constraint ("no horror")."""
        seeker = [self.read_utterance(e.get("text", "")) for e in state.dialogue if e["side"] == "seeker"]
        return bool(
            np.any(state.long)
            or state.liked
            or state.avoid_genres
            or state.soft_avoid_genres
            or state.avoid_people
            or state.constraints
            or state.kind
            or any(u.mentioned or u.liked_genres or _has_words(u.positive_text) for u in seeker)
        )

    def _state(self, user_id: str) -> InterestState:
        return self.profiles.load(user_id, self.embedder.dim) or InterestState(dim=self.embedder.dim)

    @contextmanager
    def _user_lock(self, user_id: str) -> Iterator[None]:
        """One call at a time per user: in this process by a lock, and in every process sharing the profile
        database by `profiles.hold` (PostgreSQL; `profiles.update` keeps every change in any case). A user's lock
        lives only while calls for them are in flight, so the locks kept never outgrow the calls running."""
        with self._locks_guard:
            lock, callers = self._locks.get(user_id, (None, 0))
            lock = lock or threading.Lock()
            self._locks[user_id] = (lock, callers + 1)
        try:
            with lock, self.profiles.hold(user_id):
                yield
        finally:
            with self._locks_guard:
                lock, callers = self._locks[user_id]
                if callers == 1:
                    del self._locks[user_id]
                else:
                    self._locks[user_id] = (lock, callers - 1)

    def _maybe_prune(self) -> None:
        if self.settings.events_retention_days > 0 and time.monotonic() - self._pruned >= PRUNE_EVERY_S:
            self.prune_events()

    def _check_user(self, user_id: str) -> str:
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
            raise InputError(f"user id must be a non-empty string of at most {MAX_USER_ID} characters")
        _check_text(user_id, "the user id")
        return user_id

    def _check_message(self, message: str) -> str:
        if not isinstance(message, str):
            raise InputError(f"The message must be text, not {type(message).__name__}. Nothing was changed.")
        if not message.strip():
            raise InputError("The message is empty: tell me something you like, or a title you enjoyed.")
        if len(message) > self.settings.max_message_chars:
            raise InputError(
                f"The message is too long ({len(message):,} characters; the limit is "
                f"{self.settings.max_message_chars:,}). Nothing was changed."
            )
        _check_text(message, "The message")
        return message.strip()


def _has_words(text: str) -> bool:
    return bool(core_words(text).strip(" ,.;!?，。！？"))


def _check_text(text: str, what: str) -> None:
    """Refuse text that cannot be stored or shown (NUL, lone surrogates: see `catalog.text_problem`)."""
    problem = text_problem(text)
    if problem:
        raise InputError(f"{what} holds {problem}. Nothing was changed.")


def _notes(u: Understanding) -> list[str]:
    notes = [f"avoiding {g}" for g in u.avoided_genres] + [f"avoiding {p}" for p in u.avoided_people]
    return notes + [f"noted {t}" for t in u.mentioned]
