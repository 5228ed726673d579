"""Understanding messages: titles (any case, with or without year, small typos), negations in two languages."""

import pytest

from chatrec.catalog import Item
from chatrec.lexicon import canonical_genre
from chatrec.understanding import Understander, detect_language, split_negations

ITEMS = [
    Item("i", "Interstellar", "d", 2014, "movie", ("science fiction",), ("Christopher Nolan",)),
    Item("s", "The Shining", "d", 1980, "movie", ("horror",), ("Stanley Kubrick",), ("Jack Nicholson",)),
    Item("s2", "Solaris", "d", 1972, "movie", ("science fiction",), ("Andrei Tarkovsky",)),
    Item("s3", "Solaris", "d", 2002, "movie", ("science fiction",), ("Steven Soderbergh",)),
    Item("w", "流浪地球", "d", 2019, "movie", ("science fiction",), aliases=("The Wandering Earth",)),
    Item("it", "It", "d", 2017, "movie", ("horror",)),
    Item("sp", "Spider-Man: Into the Spider-Verse", "d", 2018, "movie", ("animation", "superhero"), tags=("superhero",)),
    Item("b", "Dune", "d", 1965, "book", ("science fiction",), ("Frank Herbert",)),
]
U = Understander(ITEMS)


@pytest.mark.parametrize("message, expected", [
    ("I loved Interstellar", ["i"]),
    ("i loved INTERSTELLAR!", ["i"]),
    ("loved intersteller and the shinning", ["i", "s"]),         # typos
    ("Solaris (1972) was slow", ["s2"]),                           # the year picks the version
    ("what about Solaris 2002?", ["s3"]),
    ("I liked the wandering earth", ["w"]),                        # an alias
    ("我很喜欢流浪地球", ["w"]),                                     # Chinese title inside a sentence
    ("spider-man into the spider verse was fun", ["sp"]),
    ("I like it when films are long", []),                         # 'it' in a sentence is not the film It
    ("I watched It (2017) yesterday", ["it"]),
])
def test_titles(message: str, expected: list[str]) -> None:
    assert list(U.read(message).mentioned) == expected


def test_negations_in_english() -> None:
    u = U.read("I loved Interstellar. Something like it, but not horror, and nothing with Nolan")
    assert u.mentioned == ("i",)
    assert u.avoided_genres == ("horror",) and u.avoided_people == ("Christopher Nolan",)
    assert "horror" not in u.positive_text and "Nolan" not in u.positive_text
    u = U.read("no more superhero movies please")
    assert u.avoided_genres == ("superhero",)
    u = U.read("nothing by Stanley Kubrick")
    assert u.avoided_people == ("Stanley Kubrick",)
    assert U.read("not The Shining").avoided_items == ("s",)
    assert U.read("no musicals about zombies").negative_phrases  # unknown words still count against


def test_negations_in_chinese() -> None:
    u = U.read("不要恐怖片")
    assert u.avoided_genres == ("horror",) and u.language == "zh"
    u = U.read("我喜欢科幻电影，不要恐怖的")
    assert u.liked_genres == ("science fiction",) and u.avoided_genres == ("horror",) and u.kind == "movie"


def test_kind_language_and_terms() -> None:
    u = U.read("I love space exploration films")
    assert u.kind == "movie" and u.language == "en" and "space exploration" in u.terms
    assert U.read("recommend a novel").kind == "book"
    assert "太空探索" in U.read("我喜欢太空探索的电影").terms
    assert detect_language("我喜欢太空探索的电影") == "zh"
    assert detect_language("Hello there") == "en"


def test_split_negations_keeps_the_positive_part() -> None:
    positive, negated = split_negations("I want comedies, but not romance")
    assert negated == ["romance"] and "comedies" in positive


@pytest.mark.parametrize("catalog_genre, canonical", [
    ("sport", "sports"), ("Sci-Fi", "science fiction"), ("科幻", "science fiction"), ("animated", "animation"),
    ("horror", "horror"), ("news", "news"),   # a genre the word lists do not know stays as it is
])
def test_catalog_genres_in_the_form_messages_are_read_in(catalog_genre: str, canonical: str) -> None:
    assert canonical_genre(catalog_genre) == canonical


def test_a_catalog_spelling_is_found_and_avoided_under_its_canonical_name() -> None:
    u = Understander([*ITEMS, Item("g", "Goal Line", "d", 2010, "movie", ("Sport",))])
    assert u.read("I love sport films").liked_genres == ("sports",)
    assert u.read("不要体育片").avoided_genres == ("sports",)
