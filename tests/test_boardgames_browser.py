"""The board-game dialogue of issue 23 in headless Chromium, on the page and in the widget, in English and Chinese, on
a desktop and a phone: the cards keep to the facets asked for, the header names board games (桌游), and the panel
shows the dialogue state (now, less of for now, never, what you named); a × on an entry removes it and the panel
follows.

The app runs over examples/catalogs/boardgames.jsonl (with its facets sidecar) on the in-memory doubles
(tests/conftest.py's `memory_engine`), no generator. Screenshots go to the test cache's artifacts/: games-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, ROOT, free_port, memory_engine, serve
from test_browser_ui import (
    ASCII_WORD,
    browser_test,
    no_server_errors,  # noqa: F401  (autouse: no event handler may fail on the server)
    open_page,
    send,
    ui_text_left,
    wait_done,
)
from test_widget_browser import LAUNCHER, Host, host_pages, open_panel, static_server, view_js
from test_widget_browser import send as widget_send
from test_widget_browser import wait_done as widget_done

from chatrec import Engine
from chatrec.catalog.facets import Bound, satisfies

BOARDGAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"
DIALOGUE = {
    "en": ["something with dice, not too heavy", "two players, under 30 minutes", "lighter, a party game"],
    "zh": ["有骰子的，不要太重", "两个人玩，半小时以内"],
}
TWO_QUICK = (Bound("players", includes=2), Bound("minutes", max=30))  # what the second message asks, kept after
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def host_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def games(host_port: int, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return memory_engine(
        tmp_path_factory.mktemp("games-ui"), BOARDGAMES, allowed_origins=(f"http://127.0.0.1:{host_port}",)
    )


@pytest.fixture(scope="module")
def games_url(games: Engine) -> Iterator[str]:
    with serve(games) as url:
        yield url


@pytest.fixture(scope="module")
def games_host(games_url: str, host_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pages = host_pages(tmp_path_factory.mktemp("games-host"), games_url.rstrip("/"))
    for name in ("plain.html", "zh.html"):  # a shop of board games, not films
        path = pages / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("Film picks", "Game picks").replace("电影推荐", "桌游推荐"), encoding="utf-8")
    with static_server(pages, host_port) as origin:
        yield origin


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def keeps_to(games: Engine, ids: list[str], bounds: tuple[Bound, ...]) -> None:
    """Every shown item meets every bound."""
    assert ids
    for item_id in ids:
        item = games.items[item_id]
        for bound in bounds:
            assert satisfies(item.facet(bound.name), bound), (item.title, bound.name, item.facet(bound.name))


# -- the page -----------------------------------------------------------------------------------------------------
def page_cards(page: Any) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('.card-body')]
                   .filter(b => b.closest('.card') && b.closest('.card').offsetParent !== null)
                   .map(b => b.dataset.item)"""
    )


def panel_entries(page: Any, group: str) -> list[str]:
    return page.locator(f'#profile .state-group[data-group="{group}"] .chip').all_inner_texts()


@browser_test
@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("en", "phone"), ("zh", "desktop"), ("zh", "phone")])
def test_the_board_game_dialogue_on_the_page(browser: Any, games: Engine, games_url: str, lang: str, size: str) -> None:
    viewport = PHONE if size == "phone" else {"width": 1280, "height": 800}
    page = open_page(browser, games_url, locale="zh-CN" if lang == "zh" else "en-US", **viewport)
    header = page.locator("#header p").first.inner_text()
    assert ("桌游" in header) if lang == "zh" else ("board games" in header), header
    assert "movies" not in header and "电影" not in header
    for turn, message in enumerate(DIALOGUE[lang], start=1):
        send(page, message)
        wait_done(page, replies=turn)
        if turn >= 2:
            keeps_to(games, page_cards(page), TWO_QUICK)
    now = panel_entries(page, "state_now")
    expected = ["人数：2 人", "时长：最多 30 分钟"] if lang == "zh" else ["players: 2", "minutes: at most 30"]
    assert all(any(e in chip for chip in now) for e in expected), now
    meta = page.locator(".card .meta").first.inner_text()
    assert ("桌游" in meta) if lang == "zh" else ("board game" in meta), meta
    if lang == "zh":
        assert ui_text_left(page) == set(), "no English in the page's own words"
        assert not ASCII_WORD.search(" ".join([*now, meta])), (now, meta)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shot(page, f"games-page-{lang}-{size}.png", full_page=size == "phone")

    players = page.locator('#profile .chip[data-field="constraints"]', has_text=expected[0]).first
    players.locator(".chip-x").click()
    page.locator('#profile .chip[data-field="constraints"]', has_text=expected[0]).wait_for(
        state="detached", timeout=30_000
    )
    assert any(expected[1] in chip for chip in panel_entries(page, "state_now")), "the other entries stay"
    page.locator("#profile").scroll_into_view_if_needed()
    shot(page, f"games-page-{lang}-{size}-removed.png")
    page.context.close()


@browser_test
def test_turning_away_shows_under_less_of_and_never_and_a_thumbs_down_can_be_undone(
    browser: Any, games: Engine, games_url: str
) -> None:
    page = open_page(browser, games_url)
    send(page, "I'm tired of party games, something cooperative, no horror")
    wait_done(page, replies=1)
    page.locator("#down-0").first.click()
    page.locator('#profile .state-group[data-group="state_never"] .chip[data-field="items"]').first.wait_for(
        timeout=30_000
    )
    assert any("party" in chip for chip in panel_entries(page, "state_less_of")), panel_entries(page, "state_less_of")
    never = panel_entries(page, "state_never")
    assert any("horror" in chip for chip in never), never
    shot(page, "games-page-en-turned-away.png", full_page=True)
    page.locator('#profile .chip[data-field="items"] .chip-x').first.click()
    page.locator('#profile .chip[data-field="items"]').first.wait_for(state="detached", timeout=30_000)
    page.locator('#profile .chip[data-field="less_of"] .chip-x').first.click()
    page.locator('#profile .state-group[data-group="state_less_of"]').wait_for(state="detached", timeout=30_000)
    assert any("horror" in chip for chip in panel_entries(page, "state_never"))
    page.context.close()


# -- the widget ---------------------------------------------------------------------------------------------------
def widget_entries(page: Any, group: str) -> list[str]:
    return page.locator(f'{LAUNCHER} .state-group[data-group="{group}"] .chip').all_inner_texts()


@browser_test
@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("zh", "phone")])
def test_the_board_game_dialogue_in_the_widget(
    browser: Any, games: Engine, games_host: str, lang: str, size: str
) -> None:
    viewport = PHONE if size == "phone" else {"width": 1280, "height": 800}
    visit = Host(browser, games_host + ("/zh.html" if lang == "zh" else "/plain.html"), **viewport)
    page = visit.page
    open_panel(page)
    for turn, message in enumerate(DIALOGUE[lang], start=1):
        widget_send(page, message)
        widget_done(page, replies=turn)
    ids = page.evaluate(
        f"""() => {{ const replies = [...{view_js(LAUNCHER)}.querySelectorAll('.msg.bot')];
                    return [...replies.at(-1).querySelectorAll('.card')].map(c => c.dataset.itemId); }}"""
    )
    keeps_to(games, ids, TWO_QUICK)
    meta = page.locator(f"{LAUNCHER} .msg.bot").last.locator(".card .meta").first.inner_text()
    assert ("桌游" in meta) if lang == "zh" else ("board game" in meta), meta
    page.locator(f"{LAUNCHER} .state-toggle").click()
    page.locator(f"{LAUNCHER} .state .chip").first.wait_for(timeout=30_000)
    expected = ["人数：2 人", "时长：最多 30 分钟"] if lang == "zh" else ["players: 2", "minutes: at most 30"]
    now = widget_entries(page, "now")
    assert all(any(e in chip for chip in now) for e in expected), now
    if lang == "zh":
        assert not re.search(r"[A-Za-z]{3,}", " ".join(now)), now
    shot(page, f"games-widget-{lang}-{size}.png")
    page.locator(f'{LAUNCHER} .state .chip[data-field="constraints"]', has_text=expected[0]).locator(".chip-x").click()
    page.locator(f'{LAUNCHER} .state .chip[data-field="constraints"]', has_text=expected[0]).wait_for(
        state="detached", timeout=30_000
    )
    assert any(expected[1] in chip for chip in widget_entries(page, "now"))
    shot(page, f"games-widget-{lang}-{size}-removed.png")
    visit.close()
