"""Scripted dialogues over the bundled catalog: what must be true of the recommendations after each message."""

from chatrec import Engine

SCIFI = "science fiction"


def genres(engine: Engine, turn) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [engine.items[r.item_id].genres for r in turn.recommendations]


def test_space_fan_gets_science_fiction_then_no_horror_and_no_nolan(engine: Engine) -> None:
    turn = engine.chat("fan-en", "I love space exploration films")
    top5 = genres(engine, turn)[:5]
    assert sum(SCIFI in g for g in top5) >= 3, turn.reply
    assert all(engine.items[r.item_id].kind == "movie" for r in turn.recommendations)
    assert all(r.why and "space" in r.why.lower() for r in turn.recommendations)  # names the interest

    turn = engine.chat("fan-en", "not horror, and nothing with Nolan")
    ranked = [engine.items[r.item_id] for r in turn.recommendations]
    assert ranked, turn.reply
    assert not any("horror" in it.genres for it in ranked)
    assert not any("Christopher Nolan" in it.creators for it in ranked)
    assert "horror" in turn.reply and "Christopher Nolan" in turn.reply  # says what it left out
    profile = engine.profile("fan-en")
    assert profile["avoid_genres"] == ["horror"] and profile["avoid_people"] == ["Christopher Nolan"]


def test_constraints_hold_over_the_top_ten(engine: Engine) -> None:
    engine.chat("fan-top10", "I love space exploration films")
    engine.chat("fan-top10", "not horror, and nothing with Nolan")
    state = engine._state("fan-top10")
    top10, _ = engine.ranker.recommend(state, 10)
    items = [engine.items[c.item_id] for c in top10]
    assert len(items) == 10
    assert not any("horror" in it.genres or "Christopher Nolan" in it.creators for it in items)
    assert sum(SCIFI in it.genres for it in items) >= 5


def test_a_disliked_item_never_returns(engine: Engine) -> None:
    first = engine.chat("critic", "I love space exploration films")
    disliked = first.recommendations[0].item_id
    engine.feedback("critic", disliked, liked=False)
    for message in ["more space films please", "something about astronauts", "I love space exploration films"]:
        turn = engine.chat("critic", message)
        assert disliked not in [r.item_id for r in turn.recommendations]
    assert any(r["id"] == disliked for r in engine.profile("critic")["rejected"])


def test_the_same_in_chinese(engine: Engine) -> None:
    turn = engine.chat("fan-zh", "我喜欢太空探索的电影")
    top5 = genres(engine, turn)[:5]
    assert sum(SCIFI in g for g in top5) >= 3, turn.reply
    assert turn.language == "zh" and "推荐" in turn.reply
    assert all(any("\u4e00" <= c <= "\u9fff" for c in r.why) for r in turn.recommendations)
    turn = engine.chat("fan-zh", "不要恐怖片")
    assert not any("horror" in g for g in genres(engine, turn))


def test_a_liked_title_pulls_toward_similar_items(engine: Engine) -> None:
    turn = engine.chat("title-fan", "I loved Spirited Away")
    assert "m-spirited-away-2001" not in [r.item_id for r in turn.recommendations]  # already known to the user
    assert sum("animation" in g for g in genres(engine, turn)) >= 2, turn.reply
    # the reason points back to the film the user named, by a fact they share, without naming it (a reply names
    # only recommended items)
    why = turn.recommendations[0].why
    assert "the movie you just mentioned" in why and "Spirited Away" not in turn.reply
    assert any(
        fact in why
        for fact in engine.items["m-spirited-away-2001"].creators + engine.items["m-spirited-away-2001"].genres
    )


def test_users_do_not_see_each_other(engine: Engine) -> None:
    engine.chat("alice", "I love wuxia novels")
    engine.feedback("alice", "m-interstellar-2014", liked=False)
    bob = engine.profile("bob")
    assert bob["cold_start"] and bob["rejected"] == [] and bob["terms"] == []
    engine.forget("alice")
    assert engine.profile("alice")["cold_start"] and engine.profile("alice")["rejected"] == []
    assert engine.profiles.events("alice") == []
