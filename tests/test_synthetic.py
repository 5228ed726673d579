"""A synthetic catalog with a known right answer: disjoint topics, and a user who only ever talks of one."""

import random
from pathlib import Path

import pytest
from conftest import write_jsonl

from chatrec import Engine, Settings

TOPICS = {
    "astronomy": ["telescopes", "distant galaxies", "planets", "comets", "a lunar eclipse", "the night sky", "nebulae"],
    "cooking": ["baking bread", "spicy curries", "pastry chefs", "a family kitchen", "fresh pasta", "street food"],
    "football": ["a striker", "penalty kicks", "the league title", "a goalkeeper", "the World Cup", "a stadium crowd"],
    "gardening": ["roses", "vegetable beds", "compost", "pruning fruit trees", "greenhouses", "seedlings in spring"],
}
ASKS = {
    "astronomy": ["Tell me about telescopes and planets", "I want to learn about galaxies and comets"],
    "cooking": ["I love baking and cooking dinner", "recipes with pasta and curry"],
    "football": ["I am crazy about football matches", "goals, strikers and the World Cup"],
    "gardening": ["I like growing roses and vegetables", "compost and pruning in my garden"],
}


@pytest.fixture(scope="module")
def topic_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    rows = []
    for topic, words in TOPICS.items():
        for n in range(20):  # enough that two turns of six never run out of new items
            a, b = rng.sample(words, 2)
            rows.append(
                {
                    "id": f"{topic}-{n}",
                    "title": f"{topic.title()} Story {n}",
                    "kind": "book",
                    "description": f"A story about {a} and {b}.",
                    "tags": [topic],
                }
            )
    folder = tmp_path_factory.mktemp("topics")
    path = write_jsonl(Path(folder) / "topics.jsonl", rows)
    with Engine.load(Settings(data_dir=folder / "data", catalog=path, generator="none", k=6)) as engine:
        yield engine


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_a_user_who_talks_of_one_topic_gets_only_that_topic(topic_engine: Engine, topic: str) -> None:
    user = f"only-{topic}"
    for message in ASKS[topic]:
        turn = topic_engine.chat(user, message)
        got = [r.item_id.split("-")[0] for r in turn.recommendations]
        assert got == [topic] * 6, (message, got)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_rank_puts_the_topic_first(topic_engine: Engine, topic: str) -> None:
    ranked = topic_engine.rank(ASKS[topic], k=8)
    assert [i.split("-")[0] for i in ranked] == [topic] * 8
