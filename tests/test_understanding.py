"""Understanding messages: titles (any case, with or without year, small typos), negations in two languages."""

import pytest

from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Item
from chatrec.catalog.resources import knowledge_dir
from chatrec.reading.lexicon import canonical_genre
from chatrec.reading.understanding import Understander, detect_language, split_turns

ITEMS = [
    Item("i", "Interstellar", "d", 2014, "movie", ("science fiction",), ("Christopher Nolan",)),
    Item("s", "The Shining", "d", 1980, "movie", ("horror",), ("Stanley Kubrick",), ("Jack Nicholson",)),
    Item("s2", "Solaris", "d", 1972, "movie", ("science fiction",), ("Andrei Tarkovsky",)),
    Item("s3", "Solaris", "d", 2002, "movie", ("science fiction",), ("Steven Soderbergh",)),
    Item("w", "流浪地球", "d", 2019, "movie", ("science fiction",), aliases=("The Wandering Earth",)),
    Item("it", "It", "d", 2017, "movie", ("horror",)),
    Item(
        "sp", "Spider-Man: Into the Spider-Verse", "d", 2018, "movie", ("animation", "superhero"), tags=("superhero",)
    ),
    Item("b", "Dune", "d", 1965, "book", ("science fiction",), ("Frank Herbert",)),
]
U = Understander(ITEMS)


@pytest.mark.parametrize(
    "message, expected",
    [
        ("I loved Interstellar", ["i"]),
        ("i loved INTERSTELLAR!", ["i"]),
        ("loved intersteller and the shinning", ["i", "s"]),  # typos
        ("Solaris (1972) was slow", ["s2"]),  # the year picks the version
        ("what about Solaris 2002?", ["s3"]),
        ("I liked the wandering earth", ["w"]),  # an alias
        ("我很喜欢流浪地球", ["w"]),  # Chinese title inside a sentence
        ("spider-man into the spider verse was fun", ["sp"]),
        ("I like it when films are long", []),  # 'it' in a sentence is not the film It
        ("I watched It (2017) yesterday", ["it"]),
    ],
)
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
    assert u.kind == "movie" and u.language == "en"
    assert U.read("recommend a novel").kind == "book"
    assert detect_language("我喜欢太空探索的电影") == "zh"
    assert detect_language("Hello there") == "en"


def test_split_turns_keeps_the_positive_part() -> None:
    positive, negated, turned = split_turns("I want comedies, but not romance")
    assert negated == ["romance"] and "comedies" in positive and turned == []


@pytest.mark.parametrize(
    "catalog_genre, canonical",
    [
        ("sport", "sports"),
        ("Sci-Fi", "science fiction"),
        ("科幻", "science fiction"),
        ("animated", "animation"),
        ("horror", "horror"),
        ("news", "news"),  # a genre the word lists do not know stays as it is
    ],
)
def test_catalog_genres_in_the_form_messages_are_read_in(catalog_genre: str, canonical: str) -> None:
    assert canonical_genre(catalog_genre) == canonical


def test_a_catalog_spelling_is_found_and_avoided_under_its_canonical_name() -> None:
    u = Understander([*ITEMS, Item("g", "Goal Line", "d", 2010, "movie", ("Sport",))])
    assert u.read("I love sport films").liked_genres == ("sports",)
    assert u.read("不要体育片").avoided_genres == ("sports",)


def test_interest_terms_are_catalog_vocabulary_only() -> None:
    """Genres (canonical names), tags and people of the catalog: never a title, a filler word or a stray phrase."""
    bundled = Understander(list(load_catalog(knowledge_dir())))
    assert bundled.read("I love space exploration films").terms == ("space exploration",)
    assert bundled.read("我喜欢太空探索的电影").terms == ("太空",)
    assert bundled.read("喜欢科幻片").terms == ("science fiction",)  # one name for a genre in both languages
    assert bundled.read("something like Inception but lighter tonight").terms == ()
    assert bundled.read("Actually I'm tired of scary stuff. Now I want light-hearted family comedies.").terms == (
        "comedy",
        "family",
    )


def test_kinds_from_words_and_named_titles() -> None:
    bundled = Understander(list(load_catalog(knowledge_dir())))
    assert bundled.read("有没有适合全家一起看的动画片？").kind == "movie"
    assert bundled.read("推荐一部好看的美剧").kind == "series" and bundled.read("推荐一部喜剧").kind is None
    assert bundled.read("A funny TV series").kind == "series" and bundled.read("show me something fun").kind is None
    assert bundled.read("something like Inception but lighter").kind == "movie"  # a named film asks for films
    assert bundled.read("I loved the book Dune, any films like it?").kind == "movie"  # the kind word wins


def test_turning_away_is_soft_and_no_is_hard() -> None:
    bundled = Understander(list(load_catalog(knowledge_dir())))
    for message in (
        "I'm tired of scary stuff",
        "enough horror for me",
        "no more horror for now",
        "恐怖片看腻了",
        "不想再看恐怖片了",
    ):
        u = bundled.read(message)
        assert u.soft_avoided_genres == ("horror",) and not u.avoided_genres, message
    for message in ("no horror please", "不要恐怖片"):
        u = bundled.read(message)
        assert u.avoided_genres == ("horror",) and not u.soft_avoided_genres, message
    assert bundled.read("This is good enough for me").soft_avoided_genres == ()


def test_named_items_asked_about_are_not_known() -> None:
    bundled = Understander(list(load_catalog(knowledge_dir())))
    u = bundled.read("I loved Inception. Have you seen Interstellar?")
    assert set(u.mentioned) == {"m-inception-2010", "m-interstellar-2014"} and u.asked == ("m-interstellar-2014",)
    assert bundled.read("I haven't seen Interstellar yet").asked == ("m-interstellar-2014",)
