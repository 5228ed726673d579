"""Following the person, as pure functions: a loved title's every sense, unknown titles, the cap per creator, and
the new expectation keys of scripted dialogues."""

from __future__ import annotations

from typing import Any

import pytest

from chatrec.catalog.items import Item
from chatrec.ranking.scoring import cap_per_group
from chatrec.reading.understanding import Understander
from chatrec.results import Turn
from chatrec.scripts.expectations import CHECKS, Shown

ITEMS = [
    Item("m-martian", "The Martian", "A stranded astronaut.", 2015, "movie", ("science fiction",), ("Ridley Scott",)),
    Item("b-martian", "The Martian", "A stranded astronaut's log.", 2011, "book", ("science fiction",), ("Andy Weir",)),
    Item("m-inter", "Interstellar", "Through a wormhole.", 2014, "movie", ("science fiction",), ("Christopher Nolan",)),
    Item("m-memento", "Memento", "A man without memory.", 2000, "movie", ("thriller",), ("Christopher Nolan",)),
]


PEOPLE = [
    *ITEMS,
    Item("m-dumb", "Dumb and Dumber", "Two friends on a road trip.", 1994, "movie", ("comedy",), ("Jim Carrey",)),
    Item("m-elf", "Elf", "A man raised by elves.", 2003, "movie", ("comedy",), ("Will Ferrell",)),
    Item("m-ring", "Ringu", "A cursed tape.", 1998, "movie", ("horror", "mystery")),
    Item("s-court", "Court", "Palace intrigue.", 2011, "series", ("history", "drama")),
    Item("m-heist", "Heist", "A robbery.", 2001, "movie", ("crime", "thriller")),
    Item("m-kids", "Kids", "A family film.", 2005, "movie", ("family", "animation")),
]


@pytest.fixture(scope="module")
def reader() -> Understander:
    return Understander(ITEMS)


def test_a_title_takes_its_sense_from_context_and_names_every_sense(reader: Understander) -> None:
    u = reader.read("I loved Interstellar and The Martian")
    assert u.mentioned == ("m-inter", "m-martian")  # the film, beside a film
    assert set(u.senses) == {"m-inter", "m-martian", "b-martian"}  # neither sense may come back


@pytest.mark.parametrize(
    ("message", "unknown"),
    [
        ("like Heat but newer", ("Heat",)),
        ("Like Heat but newer", ("Heat",)),
        ("像Heat那样的，但要新一点的", ("Heat",)),
        ("我喜欢《不存在的片》", ("不存在的片",)),
        ("I loved The Martian", ()),
        ("I like Christopher Nolan", ()),
        ("I like sci-fi", ()),
        ("interstellar 和 tenet 也都看过了", ("tenet",)),  # lower case, beside a known title
        ("oh and i already tried ex machina", ("ex machina",)),
        ("oh and perfect blue too, what a film", ("perfect blue",)),
        ("do you have the zone of interest?", ("the zone of interest",)),
        ("do you have any comedies?", ()),
        ("and something funny too", ()),
    ],
)
def test_unknown_titles_are_noticed(reader: Understander, message: str, unknown: tuple[str, ...]) -> None:
    assert reader.read(message).unknown == unknown


def test_turning_away_in_chinese_reads_what_follows(reader: Understander) -> None:
    u = reader.read("我看腻了科幻，想看惊悚片")
    assert u.soft_avoided_genres == ("science fiction",) and "science fiction" not in u.liked_genres


def test_a_loved_title_in_a_question_for_more_is_known(reader: Understander) -> None:
    assert reader.read("I loved Memento, anything similar?").asked == ()
    assert reader.read("Have you seen Memento?").asked == ("m-memento",)


def test_at_most_two_per_creator_unless_too_few() -> None:
    groups = [("Nolan",), ("Nolan",), ("Nolan",), ("Scott",), (), ("Nolan",)]
    assert cap_per_group(range(6), groups, 4, 2) == [0, 1, 3, 4]
    assert cap_per_group(range(3), groups, 3, 2) == [0, 1, 2]  # nothing else to show: the third comes back


def shown(expect: dict[str, Any], items: list[Item], reply: str = "", unknown: tuple[str, ...] = ()) -> Shown:
    class Facts:
        partial = ""

        def genre_names(self) -> dict[str, str]:
            return {}

        def titles(self) -> set[str]:
            return set()

        def terms(self) -> list[str]:
            return ["科幻", "crime"]

        def less_of(self) -> list[str]:
            return ["武侠"]

    return Shown(Turn(reply=reply, unknown=unknown), items, 0.1, set(), expect, Facts())


@pytest.mark.parametrize(
    ("key", "value", "fails"),
    [
        ("distinct_creators_at_least", 3, False),
        ("distinct_creators_at_least", 4, True),
        ("year_at_least", 2000, False),
        ("year_at_least", 2001, True),
        ("year_at_most", 2015, False),
        ("year_at_most", 2014, True),
        ("reply_contains_none", ["horror"], False),
        ("reply_contains_none", ["HEAT"], True),
        ("profile_less_of_any", ["wuxia"], False),
        ("profile_less_of_any", ["horror"], True),
        ("profile_interests_none", ["wuxia"], False),
        ("profile_interests_none", ["science fiction"], True),
        ("says_unknown", ["Heat"], False),
        ("says_unknown", ["Ran"], True),
    ],
)
def test_new_expectation_keys(key: str, value: Any, fails: bool) -> None:
    s = shown({key: value}, ITEMS, reply="Heat isn't in this catalog.", unknown=("Heat",))
    assert bool(CHECKS[key](s, value)) is fails


def test_facet_expectations() -> None:
    game = Item("g", "G", "d", facets=(("minutes", 45.0), ("players", (2.0, 4.0))))
    assert not CHECKS["facets"](shown({}, [game]), {"players": {"includes": 2}, "minutes": {"max": 60}})
    assert CHECKS["facets"](shown({}, [game]), {"minutes": {"max": 30}})


def said(**kw: Any) -> Any:
    from chatrec.reading.understanding import Understanding

    return Understanding(language="en", positive_text="", **kw)


@pytest.mark.parametrize(
    ("messages", "seeds", "groups"),
    [
        ([said(liked_genres=("horror",))], [], [{"horror"}]),
        ([said(liked_genres=("comedy", "horror"))], [], [{"comedy"}, {"horror"}]),  # a funny horror: both
        ([said(liked_genres=("comedy", "horror"), either=True)], [], [{"comedy", "horror"}]),
        ([said(named_genres=("science fiction",)), said(critiques=("funnier",))], [], [{"science fiction"}]),
        (
            [said(named_genres=("science fiction",)), said(liked_genres=("action",))],
            [],
            [{"science fiction"}, {"action"}],
        ),
        ([said(named_genres=("science fiction",)), said(liked_genres=("crime",), shifts=True)], [], [{"crime"}]),
        ([said(named_genres=("horror",)), said(soft_avoided_genres=("horror",))], [], []),
        ([said(mentioned=("a", "b"))], [["science fiction", "drama"], ["science fiction"]], []),
        (
            [said(mentioned=("a", "b")), said(critiques=("funnier",), liked_genres=("comedy",))],
            [["science fiction", "drama"], ["science fiction"]],
            [{"science fiction"}, {"comedy"}],
        ),
        ([said(named_genres=("crime",), kind="movie"), said(kind="series", shifts=True)], [], [{"crime"}]),
        ([said(named_genres=("crime",)), said(reset=True, liked_genres=("horror",))], [], [{"horror"}]),
        ([said(named_genres=("crime",)), said(reset=True)], [], []),
        ([said(mentioned=("a",)), said(more_like=True)], [["science fiction"]], [{"science fiction"}]),
        ([said(mentioned=("a",)), said(avoided_genres=("superhero",))], [["science fiction"]], [{"science fiction"}]),
        ([said(mentioned=("a",)), said(wants_new=True)], [["science fiction"]], []),  # "any others?" alone: none
    ],
)
def test_the_topic_a_conversation_keeps(messages: list[Any], seeds: list[list[str]], groups: list[set[str]]) -> None:
    from chatrec.ranking.conversation import topic

    assert [set(g) for g in topic(messages, seeds).groups] == groups


def test_more_like_it_reads_no_topic_where_the_catalog_lists_genres_alphabetically() -> None:
    from chatrec.ranking.conversation import topic

    messages = [said(mentioned=("a",)), said(more_like=True)]
    assert topic(messages, [["science fiction"]], like_refines=False).groups == ()  # ReDial: recall fell with it


def test_years_narrow_and_a_contradiction_starts_afresh() -> None:
    from chatrec.users.tracker import narrowed_years

    assert narrowed_years(1940, None, None, 2011) == (1940, 2011)  # newer than one title, older than another
    assert narrowed_years(2001, None, None, 1989) == (None, 1989)


@pytest.mark.parametrize(
    ("message", "check"),
    [
        ("Forget all that, let's start over.", lambda u: u.reset),
        ("刚才说的都不算，重新开始", lambda u: u.reset),
        ("Now a mystery TV series", lambda u: u.shifts),
        ("Nothing older than 1990", lambda u: (u.year_min, u.year_max) == (1990, None)),
        ("不要1990年以前的", lambda u: (u.year_min, u.year_max) == (1990, None)),
        ("Any by other directors?", lambda u: u.other_creators),
        ("More books like it, please", lambda u: u.more_like),
        ("再推荐几本类似的书", lambda u: u.more_like),
        ("More books, please", lambda u: not u.more_like),
        ("再老一点的吧，八十年代以前的老片子", lambda u: (u.year_min, u.year_max) == (None, 1979)),
        ("九十年代以后的就行", lambda u: (u.year_min, u.year_max) == (1990, None)),
        ("war movies made between 1960 and 1990", lambda u: (u.year_min, u.year_max) == (1960, 1990)),
        ("1995年到2005年之间的", lambda u: (u.year_min, u.year_max) == (1995, 2005)),
        ("after the 90s", lambda u: (u.year_min, u.year_max) == (2000, None)),
        ("an older one tho, 70s or 80s", lambda u: (u.year_min, u.year_max) == (1970, 1989)),
        ("newer stuff pls, like 2015 onwards", lambda u: (u.year_min, u.year_max) == (2015, None)),
        ("horror isn't really my thing", lambda u: u.avoided_genres == ("horror",)),
        ("Something with that mystery feel but a LOT less scary?", lambda u: u.soft_avoided_genres == ("horror",)),
        ("别太吓人的", lambda u: u.soft_avoided_genres == ("horror",) and not u.liked_genres),
        ("孩子也一起看", lambda u: u.family),
        ("something for my 7 year old", lambda u: u.family),
        ("古装的不要", lambda u: u.avoided_genres == ("history",)),
        ("犯罪题材的也别推了", lambda u: u.avoided_genres == ("crime",)),
        ("no kiddie family stuff", lambda u: u.avoided_genres == ("family",)),
        ("thriller? hard pass", lambda u: u.avoided_genres == ("thriller",)),
        ("nothing too grown-up, so no horror or thrillers", lambda u: set(u.avoided_genres) == {"horror", "thriller"}),
        ("no horror, or maybe a comedy", lambda u: u.avoided_genres == ("horror",) and u.liked_genres == ("comedy",)),
        ("oh and she really can't do horror", lambda u: u.avoided_genres == ("horror",)),
        ("算了，今晚不想被吓到，换成喜剧吧", lambda u: u.soft_avoided_genres == ("horror",) and u.shifts),
        ("movies only btw, we don't have time to start a series", lambda u: u.kind == "movie"),
        ("documentaries please, series are fine too", lambda u: u.kind is None),
        ("a cozy whodunit to read on the train", lambda u: u.kind == "book"),
        ("ok but older than Interstellar, the newer ones feel too slick", lambda u: u.critiques == ("older",)),
        ("Jim Carrey的那几部都看过了，换点别的导演", lambda u: u.other_creators and not u.shifts),
        ("Jim Carrey的我基本都看过了", lambda u: u.avoided_people == ("Jim Carrey",)),
        ("jim carrey 的先不要了", lambda u: u.avoided_people == ("Jim Carrey",)),
    ],
)
def test_requests_read_right(message: str, check: Any) -> None:
    assert check(Understander(PEOPLE).read(message))


def test_an_ambiguous_title_alone_names_every_sense_until_the_user_says_which(reader: Understander) -> None:
    assert set(reader.read("I loved The Martian").mentioned) == {"m-martian", "b-martian"}
    assert reader.read("I loved The Martian").kind is None  # neither the book nor the film is asked for
    assert reader.read("I loved the book The Martian").mentioned == ("b-martian",)
    assert reader.read("I loved The Martian (2015)").mentioned == ("m-martian",)


def test_a_title_named_again_keeps_the_sense_named_before() -> None:
    from chatrec.ranking.conversation import same_senses

    first = said(mentioned=("m-martian",), senses=("m-martian", "b-martian"))
    again = said(mentioned=("b-martian",), senses=("m-martian", "b-martian"))
    other = said(mentioned=("m-inter",), senses=("m-inter",))
    assert [u.mentioned for u in same_senses([first, other, again])] == [("m-martian",), ("m-inter",), ("m-martian",)]
    assert [u.mentioned for u in same_senses([again])] == [("b-martian",)]  # nothing before: as read


@pytest.mark.parametrize(
    ("message", "avoided", "liked"),
    [
        ("jim carrey too, not a fan", ("Jim Carrey",), ()),
        ("I like comedies, not a fan of Will Ferrell though", ("Will Ferrell",), ("comedy",)),
        ("I've watched every single Christopher Nolan film, something else please", ("Christopher Nolan",), ()),
        ("Will Ferrell的就不用推了，全看过", ("Will Ferrell",), ()),
        ("Jim Carrey的我们已经看了好几部，其他人的呢", ("Jim Carrey",), ()),
        ("also will ferrell is overrated imo", ("Will Ferrell",), ()),
        ("loved Nolan's films, anything by other directors?", ("Christopher Nolan",), ()),
        ("有Jim Carrey的也不要", ("Jim Carrey",), ()),
    ],
)
def test_people_turned_away(message: str, avoided: tuple[str, ...], liked: tuple[str, ...]) -> None:
    u = Understander(PEOPLE).read(message)
    assert (u.avoided_people, u.liked_genres, u.liked_people) == (avoided, liked, ())


def test_lower_case_one_word_titles_count_only_where_titles_are_listed(reader: Understander) -> None:
    assert reader.read("seen memento and interstellar too").mentioned == ("m-memento", "m-inter")
    assert reader.read("比 memento 新一点的").mentioned == ("m-memento",)
    assert reader.read("no memento of the trip").mentioned == ()  # a word in a sentence, not a title


def test_the_last_word_of_a_title_names_it_in_a_list_of_titles() -> None:
    items = [*ITEMS, Item("m-totoro", "My Neighbor Totoro", "Forest spirits.", 1988, "movie", ("animation",))]
    read = Understander(items).read
    assert read("we've seen Interstellar, Totoro and Memento").mentioned == ("m-inter", "m-totoro", "m-memento")
    assert read("Totoro is a name I like").mentioned == ()  # a sentence's first word
    assert read("a film set in Totoro").mentioned == ()  # no list of titles around it


def test_a_compared_title_is_the_measure_not_a_question(reader: Understander) -> None:
    u = reader.read("想看科幻片，要比 memento 老一点的")
    assert u.mentioned == ("m-memento",) and u.asked == () and u.year_max == 1999


def test_an_unknown_title_in_a_list_is_noticed(reader: Understander) -> None:
    assert reader.read("I loved Memento and Interstellar, and Mindhunter too").unknown == ("Mindhunter",)
    assert reader.read("看过《Memento》，还有《不存在的片》也不错").unknown == ("不存在的片",)
    assert reader.read("also big fan of Past Lives and Aftersun").unknown == ("Past Lives", "Aftersun")
