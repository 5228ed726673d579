"""The ranking terms, the collaborative model, the adapter and the dialogue split, checked on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from chatrec.catalog.redial import opendialkg_item
from chatrec.errors import ConfigError, InteractionsError
from chatrec.offline.datasets import tuning_part
from chatrec.ranking.adapter import Adapter, adapt, resolve
from chatrec.ranking.collaborative import Collaborative, cooccurrence_neighbours, read_interactions
from chatrec.ranking.order import RankInput
from chatrec.ranking.signals import (
    combine_terms,
    in_dialogue,
    log_counts,
    mention_weights,
    people_index,
    shared_people,
    stated_match,
)
from chatrec.reading.understanding import find_decades


def test_mention_weights_fade_with_distance() -> None:
    assert mention_weights([0, 1, 2], 0.5) == pytest.approx([1.0, 0.5, 0.25])
    assert mention_weights([3], 1.0) == pytest.approx([1.0])  # recency off: every mention counts fully


def test_in_dialogue_marks_named_items() -> None:
    assert in_dialogue(["a", "b", "c"], {"b": 0.49, "z": 1.0}) == pytest.approx([0.0, 0.49, 0.0])


def test_stated_match_is_the_share_of_wishes_an_item_meets() -> None:
    # asked for: horror, comedy, "Jordan Peele", the 2010s (4 wishes)
    got = stated_match(
        item_genres=[("horror", "comedy"), ("drama",), ("horror",)],
        item_people=[("Jordan Peele",), (), ()],
        item_years=[2017, 2015, None],
        genres=["horror", "comedy"],
        people=["Jordan Peele"],
        decades=[2010],
    )
    assert got == pytest.approx([4 / 4, 1 / 4, 1 / 4])
    assert stated_match([("horror",)], [()], [1999], [], [], []) == pytest.approx([0.0])


def test_shared_people_by_hand() -> None:
    # six items; "nolan" is the same person as "Nolan" and a repeated name counts once
    index = people_index(
        [["Nolan", "Caine"], ["nolan", "Bale", "Bale"], ["Caine"], ["Bale", "Caine", "Hardy"], [], ["Zed"]]
    )
    assert index.starts.tolist() == [0, 2, 4, 5, 8, 8, 9]
    idf_nolan, idf_caine = np.log(6 / 2), np.log(6 / 3)
    raw = np.array([0.0, idf_nolan / np.sqrt(3), idf_caine / np.sqrt(2), idf_caine / np.sqrt(4), 0.0, 0.0])
    assert shared_people(index, {0: 1.0}) == pytest.approx(raw / raw.max())
    # a seed's weight scales what it brings; the seeds themselves score 0; a seed sharing nobody adds nothing
    two = shared_people(index, {0: 1.0, 2: 0.5, 5: 1.0})
    assert two[[0, 2, 5]] == pytest.approx([0.0, 0.0, 0.0])
    both = np.array([0.0, idf_nolan / np.sqrt(3), 0.0, 1.5 * idf_caine / np.sqrt(4), 0.0, 0.0])
    assert two == pytest.approx(both / both.max())
    assert shared_people(index, {}) == pytest.approx(np.zeros(6))
    assert shared_people(people_index([[], []]), {0: 1.0}) == pytest.approx([0.0, 0.0])


def test_log_counts() -> None:
    assert log_counts(np.array([0.0, 1.0, 3.0])) == pytest.approx([0.0, np.log(2) / np.log(4), 1.0])
    assert log_counts(np.zeros(2)) == pytest.approx([0.0, 0.0])


def test_combine_terms_weights_and_switches_terms_off() -> None:
    terms = {"text": np.array([0.2, 0.4]), "popularity": np.array([1.0, 0.0])}
    assert combine_terms(terms, {"text": 1.0, "popularity": 0.3}) == pytest.approx([0.5, 0.4])
    assert combine_terms(terms, {"text": 1.0, "popularity": 0.0}) == pytest.approx([0.2, 0.4])
    assert combine_terms(terms, {}) == pytest.approx([0.0, 0.0])


def test_rank_input_orders_by_weighted_terms_and_leaves_out_exclusions() -> None:
    given = RankInput(
        ["a", "b", "c"], {"text": np.array([0.9, 0.5, 0.1]), "seeker": np.array([0.0, 0.0, 1.0])}, excluded={"a"}
    )
    assert given.ranked({"text": 1.0}, 3) == ["b", "c"]
    assert given.ranked({"text": 1.0, "seeker": 1.0}, 1) == ["c"]
    assert given.ranked({"text": 1.0}, 2, drop={"b"}) == ["c"]


def test_cooccurrence_cosine_by_hand() -> None:
    # users: 0 -> {a, b}, 1 -> {a, b, c}, 2 -> {c} (a second "a" from user 0 counts once)
    users = np.array([0, 0, 0, 1, 1, 1, 2])
    items = np.array([0, 1, 0, 0, 1, 2, 2])
    counts, neighbours, sims = cooccurrence_neighbours(users, items, 3, keep=2)
    assert counts == pytest.approx([2, 2, 2])
    # cos(a, b) = 2 / (sqrt 2 * sqrt 2) = 1; cos(a, c) = 1 / 2
    assert list(neighbours[0]) == [1, 2] and sims[0] == pytest.approx([1.0, 0.5])
    model = Collaborative(["a", "b", "c"], counts, neighbours, sims, "hand")
    assert model.similar({"a": 1.0}) == pytest.approx({"b": 1.0, "c": 0.5})
    assert model.similar({"a": 1.0, "b": 0.5}) == pytest.approx(
        {"c": 0.5 + 0.5 * 0.5}
    )  # seeds are not their own neighbours


def test_collaborative_model_round_trips_and_refuses_another_catalog(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = Collaborative(
        ["a", "b"],
        np.array([1.0, 2.0], np.float32),
        np.array([[1], [0]], np.int32),
        np.array([[0.5], [0.5]], np.float32),
        "x",
    )
    model.save(tmp_path)
    again = Collaborative.load(tmp_path, ["a", "b"])
    assert again is not None and again.similar({"a": 1.0}) == pytest.approx({"b": 0.5})
    assert Collaborative.load(tmp_path, ["a", "b", "c"]) is None  # fitted for another catalog: the terms stay off


def test_interactions_file_errors_name_the_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "i.csv"
    path.write_text("user,item,rating,timestamp\nu1,a,5,100\nu1,zzz,4,101\nu2,b,lots,102\n,a,1,1\n", encoding="utf-8")
    with pytest.raises(InteractionsError) as err:
        read_interactions(path, {"a", "b"})
    text = str(err.value)
    assert "i.csv:3: unknown item id 'zzz'" in text and "i.csv:4:" in text and "i.csv:5:" in text
    rows, bad = read_interactions(path, {"a", "b"}, skip_bad=True)
    assert [(r.user, r.item, r.rating) for r in rows] == [("u1", "a", 5.0)] and len(bad) == 3
    (tmp_path / "h.csv").write_text("who,what\n1,2\n", encoding="utf-8")
    with pytest.raises(InteractionsError, match="missing user, item"):
        read_interactions(tmp_path / "h.csv", {"a"})


def test_adapter_is_a_residual_map_and_checks_its_embedder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    q = np.array([3.0, 4.0], np.float32)
    assert adapt(q, np.zeros((2, 2), np.float32)) == pytest.approx([0.6, 0.8])
    # A = [[0, 1], [0, 0]]: q + qA = (3, 4 + 3) -> (3, 7) / sqrt(58)
    assert adapt(q, np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)) == pytest.approx(np.array([3.0, 7.0]) / np.sqrt(58))
    path = Adapter(np.eye(2, dtype=np.float32), "emb-1", {"epoch": 3}).save(tmp_path / "a.npz")
    assert resolve(str(path), "emb-1").info == {"epoch": 3}
    with pytest.raises(ConfigError, match="made for emb-1"):
        resolve(str(path), "emb-2")
    with pytest.raises(ConfigError, match="not found"):
        resolve(str(tmp_path / "missing.npz"), "emb-1")
    assert resolve("none", "emb-1") is None and resolve("auto", "no-such-embedder") is None


def test_dialog_split_is_stable_and_near_its_share() -> None:
    ids = [str(i) for i in range(4000)]
    part = [tuning_part(i, 0.3, 0) for i in ids]
    assert part == [tuning_part(i, 0.3, 0) for i in ids]
    assert 0.27 < sum(part) / len(part) < 0.33
    assert part != [tuning_part(i, 0.3, 1) for i in ids]  # another seed, another split


def test_decades_and_opendialkg_items() -> None:
    assert find_decades("80s action, some '90s comedy, the 1970s, 2000s, 60's") == [1980, 1990, 1970, 2000, 1960]
    assert find_decades("in her 20s, 100s of them") == []
    item = opendialkg_item(
        "7",
        {
            "name": "Space Jam",
            "year": "1996",
            "genre": ["Comedy", "Animation film"],
            "director": ["Joe Pytka"],
            "actor": ["Michael Jordan", "Michael Jordan"],
        },
    )
    assert item.year == 1996 and item.genres == ("comedy", "animation") and item.cast == ("Michael Jordan",)
    assert "Joe Pytka" in item.description and item.description.startswith("Space Jam (1996)")


def test_a_damaged_collaborative_model_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "collaborative.npz").write_bytes(b"not a zip file")
    with pytest.raises(InteractionsError, match="chatrec refit"):
        Collaborative.load(tmp_path, ["a"])
