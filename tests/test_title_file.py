"""The title and people keys on the catalog file (reading/title_file.py) find what the keys built in memory find:
the same spans for every scripted message and for messages made of the catalog's own titles (exact, lower case,
dated, misspelt, Chinese), the same people, the same senses of a title, and the same verdicts of the reply checks;
and the engine reads them from its file."""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SHARED
from test_keys_in import MESSAGES, _typo

from chatrec.catalog.database import CatalogDB, write_catalog_db
from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Item
from chatrec.catalog.resources import knowledge_dir
from chatrec.engine import Engine
from chatrec.reading.language import CJK
from chatrec.reading.title_file import FilePeopleKeys, FileTitleKeys, FileTitleSet, write_name_tables
from chatrec.reading.titles import MemoryTitleKeys, PeopleIndex, TitleIndex, TitleSet
from chatrec.reply.grounding import Grounding
from chatrec.reply.vocabulary import vocabulary_text

CATALOGS = {
    "bundled": (knowledge_dir(), "auto"),
    "boardgames": (ROOT / "examples" / "catalogs" / "boardgames.jsonl", "auto"),
    "redial": (SHARED / "redial" / "id2info.json", "redial"),
}


def scripted_messages() -> list[str]:
    """Every message of the scripted dialogues in benchmarks/ and examples/."""
    said = list(MESSAGES)
    for path in sorted([*(ROOT / "benchmarks" / "dialogues").rglob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")]):
        script = yaml.safe_load(path.read_text(encoding="utf-8"))
        said += [turn["say"] for turn in (script or {}).get("turns", []) if isinstance(turn, dict) and "say" in turn]
    return said


def title_messages(items: list[Item], rng: random.Random, count: int = 300) -> list[str]:
    """Messages naming the catalog's titles as people type them."""
    out = []
    for _ in range(count):
        a, b = rng.sample(items, 2)
        out += [
            f"I loved {a.title} and {b.title}",
            f"seen {a.title.lower()}, {b.title.lower()} too",
            f"something like {a.title} ({a.year})" if a.year else f"like 《{a.title}》",
            f"I really enjoyed {_typo(rng, a.title)}",
            f"anything by {rng.choice([*a.creators, *a.cast, 'nobody'])} or {rng.choice([*b.creators, 'x'])}",
            f"我很喜欢{a.aliases[0] if a.aliases else a.title}，还有《{b.title}》",
        ]
    return out


@pytest.mark.parametrize("name", list(CATALOGS))
def test_the_file_keys_find_what_the_memory_keys_find(name: str, tmp_path: Path) -> None:
    path, fmt = CATALOGS[name]
    if not path.exists():
        pytest.skip(f"{path} not found (../shared is absent)")
    items = list(load_catalog(path, fmt=fmt))
    file = tmp_path / "catalog.sqlite"
    write_catalog_db(file, items, vocabulary_text, extra=partial(write_name_tables, items=items))
    db = CatalogDB(file)
    try:
        memory = TitleIndex(items)
        on_file = TitleIndex(keys=FileTitleKeys(db))
        people, people_on_file = PeopleIndex(items), PeopleIndex(keys=FilePeopleKeys(db))
        messages = scripted_messages() + title_messages(items, random.Random(5))
        found = 0
        for message in messages:
            spans = memory.spans(message)
            assert on_file.spans(message) == spans, message
            for full in (False, True):
                assert people_on_file.find(message, full) == people.find(message, full), message
            found += bool(spans)
        assert found > len(messages) / 3, "the messages name titles"
        keys = MemoryTitleKeys(items)
        assert on_file.keys.max_words == keys.max_words
        for item in items[:500]:
            titles = (item.title, *item.aliases)
            assert on_file.ids_titled(titles) == memory.ids_titled(titles)
        grounding = Grounding(items, memory)
        grounding_on_file = Grounding(items, on_file, db, FileTitleSet(db))
        assert isinstance(grounding.titles, TitleSet)
        for item in items[:300]:  # a reply that names other items than the one recommended fails alike
            allowed = grounding.allowed([item], "zh" if CJK.search(item.title) else "en")
            for message in messages[:150]:
                verdict = grounding.check(message, allowed)
                assert grounding_on_file.check(message, allowed) == verdict, message
                assert grounding_on_file.is_plain(message) == grounding.is_plain(message), message
        rng = random.Random(7)
        for key in rng.sample(keys.fuzzy_keys, min(300, len(keys.fuzzy_keys))):
            typed = _typo(rng, key)
            if len(typed) >= 8:
                assert on_file.keys.typo_of(typed) == keys.typo_of(typed), typed
    finally:
        db.close()


def test_the_engine_reads_titles_and_people_from_its_catalog_file(engine: Engine) -> None:
    assert engine.catalog_db is not None
    assert isinstance(engine.understander.titles.keys, FileTitleKeys)
    assert isinstance(engine.understander.people.keys, FilePeopleKeys)
    assert isinstance(engine.grounding.titles, FileTitleSet)
    assert engine.understander.titles.find("I loved Interstellar") == TitleIndex(engine.catalog).find(
        "I loved Interstellar"
    )
