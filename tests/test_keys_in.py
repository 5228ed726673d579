"""The shortcuts a large catalog takes in reading a message find exactly what comparing every key finds: Chinese
titles and names by the message's substrings (reading/titles.py `KeysIn`, past 2,000 keys), and titles typed with
typos through shared trigrams (`Typos`, past 5,000 titles)."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from chatrec.catalog.files import load_catalog
from chatrec.catalog.resources import knowledge_dir
from chatrec.reading.titles import KeysIn, MemoryTitleKeys, PeopleIndex, TitleIndex, Typos
from chatrec.reply.grounding import Grounding

ROOT = Path(__file__).resolve().parents[1]
ALPHABET = "太空探索爱情喜剧a b"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(ALPHABET, min_size=1, max_size=5), max_size=30), st.text(ALPHABET, max_size=40))
def test_both_ways_find_the_same_keys(keys: list[str], text: str) -> None:
    scan = KeysIn(keys)
    looked_up = KeysIn(keys)
    looked_up.SCAN_AT_MOST = -1  # type: ignore[misc]
    assert scan(text) == looked_up(text) == {k for k in keys if k and k in text}


MESSAGES = [
    "我想看《活着》那样的书",
    "我喜欢三体，还有流浪地球",
    "有没有像卧虎藏龙和霸王别姬的电影？",
    "推荐几部张艺谋的电影",
    "我看过让子弹飞了，还有别的吗",
    "有没有类似《七大奇迹：对决》的桌游",
    "I loved Interstellar and 红楼梦",
    "宫崎骏的动画，像千与千寻",
    "no Chinese here at all",
]


@pytest.mark.parametrize("catalog", [knowledge_dir(), ROOT / "examples" / "catalogs" / "boardgames.jsonl"])
def test_titles_and_people_are_found_alike_either_way(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = list(load_catalog(catalog))
    titles, people, grounding = TitleIndex(items), PeopleIndex(items), Grounding(items)
    scanned = [(titles.spans(m), people.find(m), grounding._cjk(m, grounding.allowed([], "zh"))) for m in MESSAGES]
    if catalog == knowledge_dir():  # the bundled catalog has Chinese titles and names that these messages hold
        assert any(spans for spans, _, _ in scanned) and any(found for _, found, _ in scanned)
    monkeypatch.setattr(KeysIn, "SCAN_AT_MOST", -1)
    titles, people, grounding = TitleIndex(items), PeopleIndex(items), Grounding(items)
    looked_up = [(titles.spans(m), people.find(m), grounding._cjk(m, grounding.allowed([], "zh"))) for m in MESSAGES]
    assert looked_up == scanned


def _typo(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 3)):
        at, op = rng.randrange(len(chars)), rng.random()
        if op < 1 / 3 and len(chars) > 1:
            del chars[at]
        elif op < 2 / 3:
            chars.insert(at, rng.choice(string.ascii_lowercase + " "))
        else:
            chars[at] = rng.choice(string.ascii_lowercase + " ")
    return "".join(chars)


@pytest.mark.parametrize("catalog", [knowledge_dir(), ROOT / "examples" / "catalogs" / "boardgames.jsonl"])
def test_typos_are_matched_as_comparing_every_title_does(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trigram shortcut (used past 5,000 titles) finds the same title as rapidfuzz over every title, for titles
    with up to three typos, and for phrases that are no title."""
    monkeypatch.setattr(Typos, "SCAN_AT_MOST", 0)
    keys = MemoryTitleKeys(list(load_catalog(catalog))).fuzzy_keys
    typos = Typos(keys)
    assert typos.postings, "the shortcut is in use"
    rng = random.Random(11)
    asked = [_typo(rng, rng.choice(keys)) for _ in range(600)] + ["space exploration films", "a cosy game for two"]
    asked = [a for a in asked if len(a) >= 8]
    every = [process.extractOne(a, keys, scorer=fuzz.ratio, score_cutoff=Typos.CUTOFF) for a in asked]
    expected = [found[0] if found else None for found in every]
    assert sum(e is not None for e in expected) > len(asked) / 2
    assert [typos.best(a) for a in asked] == expected
