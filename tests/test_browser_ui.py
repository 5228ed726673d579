"""The chat page in headless Chromium: the cards beside the chat above the fold, the phone layout, a Chinese session
with no English UI text, a message sent during a reply queued and answered, and "forget me" asking first.

Runs the app without a generator (template replies) over the bundled catalog on the in-memory doubles
(tests/conftest.py's `memory_engine`): what is tested is the page, not which embedder ranked, so it is quick.
Screenshots go to the test cache's artifacts/ (tests/conftest.py): ui-*.png.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ARTIFACTS, BROWSER_MARKS, memory_engine, serve

from chatrec import Engine
from chatrec.serve.page_text import EXAMPLES, TEXT, lang_of_header, t


def browser_test(fn: Any) -> Any:
    """The browser tests' marks (marker `browser`, skipped without Chromium), as test_browser.py has them."""
    for mark in BROWSER_MARKS:
        fn = mark(fn)
    return fn


ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
BRAND = {"chatrec"}


# -- the string table, without a browser ---------------------------------------------------------------------------
def test_every_ui_string_has_both_languages_and_chinese_has_no_english_words() -> None:
    for key, texts in TEXT.items():
        assert set(texts) == {"en", "zh"} and all(texts.values()), key
        words = set(ASCII_WORD.findall(re.sub(r"\{\w+\}", "", texts["zh"]))) - BRAND
        assert not words, (key, words)
    assert all(not set(ASCII_WORD.findall(x)) for x in EXAMPLES["zh"])
    assert t("send", "zh") == "发送" and t("send", "fr") == "Send" == t("send", None)
    assert t("too_long", "zh", limit="4,000").startswith("消息太长")


def test_the_browser_language_decides_the_first_page() -> None:
    assert lang_of_header("zh-CN,zh;q=0.9,en;q=0.8") == "zh" == lang_of_header("zh-TW")
    assert lang_of_header("en-US,en;q=0.9,zh;q=0.8") == "en" == lang_of_header("") == lang_of_header(None)
    assert lang_of_header("fr-FR,fr;q=0.9") == "en"


# -- the page ------------------------------------------------------------------------------------------------------
class SlowEngine:
    """The engine, with each turn starting `delay_s` late: a second message surely arrives while the first is
    being answered."""

    def __init__(self, engine: Engine, delay_s: float) -> None:
        self._engine, self._delay_s = engine, delay_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def chat_stream(self, user_id: str, message: str) -> Iterator[Any]:
        time.sleep(self._delay_s)
        yield from self._engine.chat_stream(user_id, message)


class BusyTurn:
    """A turn as the engine gives it when its generator was busy and the template answered (`Turn.busy`)."""

    busy = True

    def __init__(self, turn: Any) -> None:
        self._turn = turn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._turn, name)


class BusyEngine(SlowEngine):
    def chat_stream(self, user_id: str, message: str) -> Iterator[Any]:
        yield from map(BusyTurn, super().chat_stream(user_id, message))


@pytest.fixture(autouse=True)
def no_server_errors(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every event handler ran without an exception (Gradio prints them and shows "Error" in the page)."""
    yield
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-3000:]


@pytest.fixture(scope="module")
def ui_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The bundled catalog on the in-memory doubles, no generator: the page's behaviour does not depend on the
    embedder that ranked."""
    return memory_engine(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def ui_url(ui_engine: Engine) -> Iterator[str]:
    with serve(ui_engine) as url:
        yield url


@pytest.fixture(scope="module")
def busy_url(ui_engine: Engine) -> Iterator[str]:
    with serve(BusyEngine(ui_engine, delay_s=0.0)) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="module")
def slow_url(ui_engine: Engine) -> Iterator[str]:
    with serve(SlowEngine(ui_engine, delay_s=2.0)) as url:  # type: ignore[arg-type]
        yield url


def open_page(browser: Any, url: str, width: int = 1280, height: int = 800, locale: str = "en-US") -> Any:
    """A fresh browser context (a new cookie, so a new user) showing the page in `locale`."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.locator("#message textarea").wait_for(state="visible", timeout=30_000)
    send_text = "发送" if locale.startswith("zh") else "Send"
    page.wait_for_function(f"document.querySelector('#send')?.innerText.trim() === {send_text!r}", timeout=30_000)
    return page


def send(page: Any, text: str) -> None:
    box = page.locator("#message textarea")
    box.fill(text)
    box.press("Enter")


def wait_done(page: Any, replies: int, timeout_s: float = 60) -> None:
    """Until `replies` bot messages are shown, none waiting, and the status says the last turn is over."""
    page.wait_for_function(
        """n => document.querySelectorAll('#chat [data-testid="bot"]').length >= n
               && document.querySelector('#status .status')?.dataset.state === 'done'""",
        arg=replies,
        timeout=timeout_s * 1000,
    )


def shot(page: Any, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def box_of(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def ui_text_left(page: Any) -> set[str]:
    """The ASCII words of the text a user can see, leaving out the catalog's and the chat's texts.

    Text nodes are read one by one, each only if its element is shown: innerText also counts transparent text,
    such as the status tracker ("processing | 0.1s") that Gradio keeps at opacity 0 over each output of a running
    event even with show_progress="hidden"."""
    return (
        set(
            page.evaluate("""() => {
        const data = ['#chat [data-testid="user"]', '#chat [data-testid="bot"]', '.card h4', '.card .desc',
                      '.card .why', '#profile .chip'].join(', ');
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const seen = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const el = node.parentElement;
            if (el && !el.closest(data) && el.checkVisibility({opacityProperty: true, visibilityProperty: true}))
                seen.push(node.textContent);
        }
        return seen.join(' ').match(/[A-Za-z]{3,}/g) || [];
    }""")
        )
        - BRAND
    )


@browser_test
def test_cards_are_beside_the_chat_and_above_the_fold(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url)
    send(page, "I love space exploration films")
    wait_done(page, replies=1)
    shot(page, "ui-desktop-en.png")
    for i in range(3):
        box = box_of(page, f"#card-{i}")
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (i, box)
    chat, card = box_of(page, "#chat"), box_of(page, "#card-0")
    assert card["x"] >= chat["x"] + chat["width"] - 1, "the cards sit beside the chat"
    assert box_of(page, "#message")["y"] + box_of(page, "#message")["height"] <= 800, "the input is above the fold"
    assert page.locator("#status").first.inner_text().strip() == "Ready"  # no diagnostics
    meta = page.locator("#card-0 .meta").first.inner_text()
    assert re.search(r"\b(movie|book|series)\b", meta), meta
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.context.close()


@browser_test
def test_a_chinese_session_shows_no_english(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url, locale="zh-CN")
    assert ui_text_left(page) == set(), "the first page, before any message"
    assert not ASCII_WORD.search(page.locator("#message textarea").get_attribute("placeholder") or "")
    send(page, "我喜欢太空探索的电影")
    wait_done(page, replies=1)
    shot(page, "ui-desktop-zh.png")
    assert ui_text_left(page) == set()
    assert page.locator("#status").first.inner_text().strip() == "就绪"
    assert "电影" in page.locator("#card-0 .meta").first.inner_text()
    for i in range(3):
        box = box_of(page, f"#card-{i}")
        assert box["y"] + box["height"] <= 800, (i, box)
    page.locator("#down-0").first.click()
    page.locator("#card-body-0").first.get_by_text(t("rejected_note", "zh")).wait_for(timeout=30_000)
    page.locator("#forget").first.click()
    page.locator("#forget-confirm").first.wait_for(state="visible", timeout=10_000)
    assert ui_text_left(page) == set(), "the card note and the forget confirmation"
    page.locator("#forget-cancel").first.click()
    page.context.close()


@browser_test
def test_the_switch_changes_the_language_and_a_turn_follows_the_user(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url)
    page.locator("#lang label", has_text="中文").first.click()
    page.wait_for_function("document.querySelector('#send')?.innerText.trim() === '发送'", timeout=30_000)
    assert ui_text_left(page) == set()
    page.locator("#lang label", has_text="EN").first.click()
    page.wait_for_function("document.querySelector('#send')?.innerText.trim() === 'Send'", timeout=30_000)
    page.locator("#example-0").first.click()  # an example fills the box
    page.wait_for_function(
        f"document.querySelector('#message textarea').value === {EXAMPLES['en'][0]!r}", timeout=10_000
    )
    send(page, "推荐几本武侠小说")  # writing in Chinese turns the page Chinese
    wait_done(page, replies=1)
    assert page.locator("#send").first.inner_text().strip() == "发送" and ui_text_left(page) == set()
    page.context.close()


@browser_test
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_layout_puts_the_chat_then_the_cards_first(browser: Any, ui_url: str, lang: str) -> None:
    page = open_page(browser, ui_url, width=390, height=844, locale="zh-CN" if lang == "zh" else "en-US")
    send(page, "我喜欢太空探索的电影" if lang == "zh" else "I love space exploration films")
    wait_done(page, replies=1)
    shot(page, f"ui-phone-{lang}.png", full_page=True)
    order = [box_of(page, sel)["y"] for sel in ("#chat", "#message", "#card-0", "#profile", "#examples")]
    assert order == sorted(order), order
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("#chat", "#message", "#card-0", "#profile"):
        box = box_of(page, selector)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    if lang == "zh":
        assert ui_text_left(page) == set()
    page.context.close()


@browser_test
def test_a_message_sent_during_a_reply_is_queued_and_answered(browser: Any, slow_url: str) -> None:
    page = open_page(browser, slow_url)
    send(page, "I love space exploration films")
    page.wait_for_function("document.querySelector('#status .status')?.dataset.state === 'writing'", timeout=30_000)
    send(page, "A funny TV series, but no horror")
    queued = page.locator('#chat [data-testid="bot"]', has_text="Queued")
    queued.first.wait_for(timeout=10_000)  # shown at once, marked as waiting
    assert page.locator('#chat [data-testid="user"]').count() == 2
    shot(page, "ui-queued.png")
    assert "Error" not in page.evaluate("document.body.innerText")
    wait_done(page, replies=2)
    page.wait_for_function(
        """() => [...document.querySelectorAll('#chat [data-testid="bot"]')]
        .every(b => !b.innerText.includes('Queued') && b.innerText.trim() !== '…')""",
        timeout=30_000,
    )
    bots = page.locator('#chat [data-testid="bot"]')
    assert bots.count() == 2 and page.locator('#chat [data-testid="user"]').count() == 2
    first, second = bots.nth(0).inner_text(), bots.nth(1).inner_text()
    assert first and second and first != second, (first, second)
    page.context.close()


@browser_test
def test_forget_me_asks_first(browser: Any, ui_url: str) -> None:
    page = open_page(browser, ui_url)
    send(page, "I love space exploration films")
    wait_done(page, replies=1)
    empty = t("empty_panel", "en")
    assert page.locator("#profile .chip").count() > 0
    page.locator("#forget").first.click()
    page.locator("#forget-confirm").get_by_text(t("forget_confirm", "en")).wait_for(timeout=10_000)
    assert page.locator("#forget-yes").first.is_visible() and page.locator("#forget-cancel").first.is_visible()
    shot(page, "ui-forget-confirm.png", full_page=True)
    page.reload(wait_until="load")  # the first click deleted nothing: a new page still shows the interests
    page.locator("#profile .chip").first.wait_for(timeout=30_000)
    page.locator("#forget").first.click()
    page.locator("#forget-cancel").first.click()
    page.locator("#forget").first.wait_for(state="visible", timeout=10_000)
    assert not page.locator("#forget-confirm").first.is_visible()
    assert page.locator("#profile .chip").count() > 0 and empty not in page.locator("#profile").first.inner_text()
    page.locator("#forget").first.click()
    page.locator("#forget-yes").first.click()
    page.locator("#profile").get_by_text(empty).wait_for(timeout=30_000)
    page.reload(wait_until="load")
    page.locator("#profile").get_by_text(empty).wait_for(timeout=30_000)
    page.context.close()


@browser_test
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_busy_generator_is_said_plainly(browser: Any, busy_url: str, lang: str) -> None:
    page = open_page(browser, busy_url, locale="zh-CN" if lang == "zh" else "en-US")
    send(page, "我喜欢太空探索的电影" if lang == "zh" else "I love space exploration films")
    wait_done(page, replies=1)
    assert page.locator("#status").first.inner_text().strip() == t("busy", lang)
    page.context.close()
