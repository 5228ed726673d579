"""The embeddable widget (chatrec/serve/static/widget.js, docs/widget.md) in headless Chromium, on host pages served
from another loopback origin than the app's, as a real deployment has it.

The app runs on one port with `allowed_origins` naming the host pages' origin; examples/host.html (hostile CSS) and
a plain copy of it are served by http.server on a second port, and the same pages from a third port, which the app
does not allow. What must hold: the widget chats in English and Chinese with cards and streamed text; a thumbs-down
takes the card away for good; the history survives a reload and "forget me" ends it; a refused origin gets a clear
error and no data; the host's CSS changes nothing inside the widget; the page asks nothing of any other origin; the
/embed page does the same in an iframe. Screenshots go to the test cache's artifacts/ (tests/conftest.py): widget-*.png.

The app runs over the bundled catalog on the in-memory doubles (tests/conftest.py's `memory_engine`): what is
tested is the widget, not which embedder ranked. Most tests use no generator (the template reply arrives as one
`delta`); `test_the_real_generator_streams_text` runs the packaged model, whose reply arrives in several.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import ARTIFACTS, BROWSER_MARKS, ROOT, free_port, memory_engine, serve

from chatrec import Engine, Settings
from chatrec.catalog.items import Item
from chatrec.serve import wire
from chatrec.serve.widget import embed_page

HOST_HTML = ROOT / "examples" / "host.html"
EXAMPLE_SERVER = "http://127.0.0.1:7860"  # the chat server that examples/host.html names
SPACE, SPACE_ZH = "I love space exploration films", "我喜欢太空探索的电影"
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")


def browser_test(fn: Any) -> Any:
    """The browser tests' marks (marker `browser`, skipped without Chromium), as test_browser.py has them."""
    for mark in BROWSER_MARKS:
        fn = mark(fn)
    return fn


# -- the history, without a browser ------------------------------------------------------------------------------
def test_history_is_built_from_the_stored_events() -> None:
    items = {
        i: Item(id=i, title=f"Title {i}", description=f"About {i}", year=2000 + n, kind="movie")
        for n, i in enumerate(["a", "b", "c"])
    }
    events = [
        {"ts": 1.0, "kind": "message", "payload": {"text": "space films"}},
        {"ts": 1.0, "kind": "shown", "payload": {"items": ["a", "b", "gone"]}},
        {"ts": 2.0, "kind": "feedback", "payload": {"item": "a", "liked": False}},
        {"ts": 3.0, "kind": "feedback", "payload": {"item": "b", "liked": False}},
        {"ts": 4.0, "kind": "feedback", "payload": {"item": "b", "liked": True}},  # the latest thumbs count
        {"ts": 5.0, "kind": "message", "payload": {"text": "更多"}},
        {"ts": 5.0, "kind": "shown", "payload": {"items": ["c"]}},
    ]
    turns = wire.history(events, items)["turns"]
    assert [t["message"] for t in turns] == ["space films", "更多"] and turns[0]["ts"] == 1.0
    assert [(r["item_id"], r["feedback"]) for r in turns[0]["recommendations"]] == [("a", "down"), ("b", "up")]
    assert turns[1]["recommendations"] == [
        {"item_id": "c", "title": "Title c", "year": 2002, "kind": "movie", "description": "About c", "feedback": None}
    ]
    assert wire.history(events, items, limit=1)["turns"][0]["message"] == "更多"
    assert wire.history([], items) == {"turns": []}


def test_the_embed_page_escapes_its_query() -> None:
    page = embed_page(lang="zh-CN", title='"><script>alert(1)</script>', theme="neon")
    assert 'lang="zh"' in page and "data-theme" not in page and "<script>alert" not in page
    assert 'data-title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert '<script src="/widget.js" data-launcher="false" async></script>' in page


# -- the servers -------------------------------------------------------------------------------------------------
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def widget_engine(host_port: int, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The bundled catalog on the in-memory doubles (no generator), allowing the host pages' origin."""
    return memory_engine(tmp_path_factory.mktemp("widget"), allowed_origins=(f"http://127.0.0.1:{host_port}",))


@pytest.fixture(scope="module")
def app(widget_engine: Engine) -> Iterator[str]:
    """The real app (`app.create`, as `python app.py` serves it); its origin, no trailing slash."""
    with serve(widget_engine) as url:
        yield url.rstrip("/")


def host_pages(folder: Path, app: str) -> Path:
    """The pages a host site serves: examples/host.html as it is (but for the server's address), a plain copy
    without its hostile CSS, a Chinese one, and one that frames /embed."""
    hostile = HOST_HTML.read_text(encoding="utf-8").replace(EXAMPLE_SERVER, app)
    assert hostile.count(app) == 1 and '<style id="hostile">' in hostile
    plain = re.sub(r'<style id="hostile">.*?</style>', "", hostile, flags=re.S)
    chinese = (
        plain.replace('data-lang="en"', 'data-lang="zh"')
        .replace("Film picks", "电影推荐")
        .replace("Ask our film guide", "问问电影向导")
    )
    framing = (
        "<!doctype html><html><head><meta charset='utf-8'><title>iframe host</title></head><body>"
        "<h1>A site that prefers an iframe</h1>"
        f"<iframe src='{app}/embed?lang=en&amp;title=Film%20picks' title='chat' "
        "style='width:420px;height:640px;border:1px solid #ccc'></iframe></body></html>"
    )
    for name, text in {"host.html": hostile, "plain.html": plain, "zh.html": chinese, "frame.html": framing}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@contextlib.contextmanager
def static_server(folder: Path, port: int) -> Iterator[str]:
    """`folder` over plain HTTP on a loopback port; yields the origin."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="host-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pages(app: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return host_pages(tmp_path_factory.mktemp("host"), app)


@pytest.fixture(scope="module")
def host(pages: Path, host_port: int) -> Iterator[str]:
    """The host site, on the origin the app allows."""
    with static_server(pages, host_port) as origin:
        yield origin


@pytest.fixture(scope="module")
def stranger(pages: Path) -> Iterator[str]:
    """The same pages on an origin the app does not allow."""
    with static_server(pages, free_port()) as origin:
        yield origin


@pytest.fixture(autouse=True)
def no_server_errors(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-3000:]


# -- driving the widget --------------------------------------------------------------------------------------------
class Host:
    """A host page in a fresh browser context (a new localStorage: a new visitor), with every request it makes."""

    def __init__(
        self, browser: Any, url: str, width: int = 1280, height: int = 800, locale: str = "en-US", widget: bool = True
    ) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.goto(url, wait_until="load")
        if widget:
            self.page.wait_for_function("() => window.chatrec && window.chatrec.ready", timeout=30_000)

    def origins(self) -> set[str]:
        return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.requests}

    def close(self) -> None:
        assert not [
            m for m in self.console if m.startswith(("pageerror", "error")) and "Failed to load resource" not in m
        ], self.console
        self.context.close()


LAUNCHER, INLINE = "chatrec-widget", "chatrec-chat"


def view_js(scope: str) -> str:
    """A JS expression for the `.chatrec` root of the chat in `scope` (the launcher's or the inline element)."""
    return f"document.querySelector({scope!r})?.shadowRoot?.querySelector('.chatrec')"


def open_panel(page: Any) -> None:
    page.locator(f"{LAUNCHER} .launcher").click()
    page.locator(f"{LAUNCHER} .popup .input").wait_for(state="visible", timeout=10_000)


def send(page: Any, text: str, scope: str = LAUNCHER) -> None:
    box = page.locator(f"{scope} .input")
    box.fill(text)
    box.press("Enter")


def wait_done(page: Any, replies: int, scope: str = LAUNCHER, timeout_s: float = 60) -> None:
    """Until `replies` bot messages are shown and the last turn is over."""
    page.wait_for_function(
        f"""n => {{ const v = {view_js(scope)};
                   return v && v.dataset.state === 'done' && v.querySelectorAll('.msg.bot').length >= n; }}""",
        arg=replies,
        timeout=timeout_s * 1000,
    )


def card_ids(page: Any, scope: str = LAUNCHER, last: bool = True) -> list[str]:
    """The item ids of the cards in the last reply (or in every reply)."""
    return page.evaluate(
        f"""last => {{ const v = {view_js(scope)};
        const replies = [...v.querySelectorAll('.msg.bot')];
        const cards = last ? replies.at(-1).querySelectorAll('.card') : v.querySelectorAll('.card');
        return [...cards].map(c => c.dataset.itemId); }}""",
        last,
    )


def token(page: Any, app: str) -> str | None:
    return page.evaluate("k => localStorage.getItem(k)", f"chatrec:{app}:token")


def ui_words(page: Any, scope: str) -> set[str]:
    """ASCII words in the widget's own strings (messages and the catalog's texts taken out)."""
    return set(
        page.evaluate(f"""() => {{ const v = {view_js(scope)};
        const copy = v.cloneNode(true);
        copy.querySelectorAll('.msg.user, .msg.bot > .text, .name, .why').forEach(n => n.remove());
        const attrs = [...copy.querySelectorAll('[placeholder], [aria-label]')]
            .map(n => (n.getAttribute('placeholder') || '') + ' ' + (n.getAttribute('aria-label') || ''));
        return (copy.textContent + ' ' + attrs.join(' ')).match(/[A-Za-z]{{3,}}/g) || []; }}""")
    )


def shot(page: Any, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


# -- the routes ----------------------------------------------------------------------------------------------------
def test_the_script_the_iframe_page_and_the_history_route(app: str, widget_engine: Engine) -> None:
    script = httpx.get(app + "/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "max-age" in script.headers["cache-control"] and "set-cookie" not in script.headers
    assert "innerHTML" not in script.text and "http://" not in script.text.replace("http://www.w3.org/2000/svg", "")
    assert httpx.get(app + "/widget.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304
    embed = httpx.get(app + "/embed?lang=zh&title=T")
    assert embed.status_code == 200 and embed.headers["content-type"].startswith("text/html")
    assert '<chatrec-chat lang="zh" data-title="T">' in embed.text and "set-cookie" not in embed.headers
    policy = embed.headers["content-security-policy"]
    assert "connect-src 'self'" in policy
    assert policy.endswith(f"frame-ancestors 'self' {widget_engine.settings.allowed_origins[0]}"), policy

    api = app + "/api/v1"
    assert httpx.get(api + "/history").status_code == 401
    auth = {"Authorization": "Bearer " + httpx.post(api + "/sessions", json={}).json()["token"]}
    assert httpx.get(api + "/history", headers=auth).json() == {"turns": []}
    turn = httpx.post(api + "/chat", json={"message": SPACE}, headers=auth, timeout=60).json()
    rejected = turn["recommendations"][0]["item_id"]
    assert httpx.post(api + "/feedback", json={"item_id": rejected, "liked": False}, headers=auth).status_code == 200
    history = httpx.get(api + "/history", headers=auth).json()
    [past] = history["turns"]
    assert past["message"] == SPACE
    assert [r["item_id"] for r in past["recommendations"]] == [r["item_id"] for r in turn["recommendations"]]
    assert past["recommendations"][0]["feedback"] == "down" and past["recommendations"][1]["feedback"] is None
    assert past["recommendations"][0]["title"] == turn["recommendations"][0]["title"]
    assert httpx.delete(api + "/profile", headers=auth).status_code == 200
    assert httpx.get(api + "/history", headers=auth).json() == {"turns": []}
    schema = httpx.get(api + "/openapi.json").json()
    assert "/history" in schema["paths"]


def test_head_answers_like_get_without_a_body(app: str) -> None:
    """HEAD /widget.js and HEAD /embed (a CDN or a link checker asks so) answer as GET does, with no body."""
    for path in ("/widget.js", "/embed?lang=zh"):
        get, head = httpx.get(app + path), httpx.head(app + path)
        assert get.status_code == head.status_code == 200, (path, head.status_code, head.text)
        assert head.content == b"" and "set-cookie" not in head.headers
        for name in ("content-type", "content-length", "cache-control", "etag", "content-security-policy"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    etag = httpx.get(app + "/widget.js").headers["etag"]
    assert httpx.head(app + "/widget.js", headers={"If-None-Match": etag}).status_code == 304


# -- the widget in a browser ---------------------------------------------------------------------------------------
@browser_test
def test_english_chat_thumbs_down_history_and_forget(browser: Any, app: str, host: str) -> None:
    visit = Host(browser, host + "/plain.html")
    page = visit.page
    assert page.locator(f"{LAUNCHER} .popup").is_hidden()
    open_panel(page)
    assert page.locator(f"{LAUNCHER} .title").inner_text() == "Film picks"
    send(page, SPACE)
    wait_done(page, replies=1)
    reply = page.locator(f"{LAUNCHER} .msg.bot").last
    assert int(reply.get_attribute("data-deltas") or 0) >= 1, "the reply text came as streamed deltas"
    assert reply.locator(".text").inner_text().strip()
    cards = reply.locator(".card")
    assert cards.count() >= 3
    first = cards.first
    assert first.locator(".name").inner_text() and first.locator(".why").inner_text()
    assert re.fullmatch(r"(\d{4} · )?(movie|book|series)", first.locator(".meta").inner_text()), first.locator(
        ".meta"
    ).inner_text()
    shot(page, "widget-desktop-en.png")

    rejected = card_ids(page)[0]
    first.locator(".down").click()
    page.locator(f"{LAUNCHER} .card[data-item-id='{rejected}']").wait_for(state="detached", timeout=10_000)
    assert page.locator(f"{LAUNCHER} .notice").inner_text() == "Noted: it will not be recommended again."
    send(page, "More films about space, please")
    wait_done(page, replies=2)
    assert rejected not in card_ids(page), "a thumbs-down item is not recommended again"
    second = card_ids(page)

    before = token(page, app)
    page.reload(wait_until="load")  # the history comes back from the server
    open_panel(page)
    page.wait_for_function(f"() => {view_js(LAUNCHER)}?.querySelectorAll('.msg.user').length === 2", timeout=30_000)
    texts = page.locator(f"{LAUNCHER} .msg.user").all_inner_texts()
    assert texts == [SPACE, "More films about space, please"]
    restored = card_ids(page, last=False)
    assert rejected not in restored and set(second) <= set(restored)
    assert page.locator(f"{LAUNCHER} .msg.bot .text").first.inner_text() == "Earlier, I suggested:"
    assert token(page, app) == before
    # the inline chat on the same page is the same user: it shows the same history
    page.wait_for_function(f"() => {view_js(INLINE)}?.querySelectorAll('.msg.user').length === 2", timeout=30_000)

    page.locator(f"{LAUNCHER} .forget").click()  # asks first
    page.locator(f"{LAUNCHER} .confirm").wait_for(state="visible")
    assert page.locator(f"{LAUNCHER} .confirm p").inner_text() == "Delete everything this chat remembers about you?"
    page.locator(f"{LAUNCHER} .confirm .yes").click()
    page.locator(f"{LAUNCHER} .notice").get_by_text("everything about you is deleted").wait_for(timeout=10_000)
    assert page.locator(f"{LAUNCHER} .msg").count() == 0 and page.locator(f"{INLINE} .msg").count() == 0
    assert token(page, app) is None
    page.reload(wait_until="load")
    open_panel(page)
    page.locator(f"{LAUNCHER} .hello").wait_for()
    page.wait_for_timeout(500)  # the history call, if any, has answered
    assert page.locator(f"{LAUNCHER} .msg").count() == 0 and page.locator(f"{INLINE} .msg").count() == 0
    send(page, SPACE)
    wait_done(page, replies=1)
    assert token(page, app) not in (None, before), "a fresh session"
    assert visit.origins() <= {host, app}, visit.origins()
    visit.close()


@browser_test
def test_a_chinese_chat(browser: Any, app: str, host: str) -> None:
    visit = Host(browser, host + "/zh.html", locale="zh-CN")
    page = visit.page
    open_panel(page)
    assert page.locator(f"{LAUNCHER} .send").inner_text() == "发送"
    assert page.locator(f"{LAUNCHER} .input").get_attribute("placeholder") == "告诉我你喜欢什么…"
    assert ui_words(page, LAUNCHER) == set()
    send(page, SPACE_ZH)
    wait_done(page, replies=1)
    reply = page.locator(f"{LAUNCHER} .msg.bot").last
    assert re.search(r"[\u4e00-\u9fff]", reply.locator(".text").inner_text())
    assert "电影" in reply.locator(".card .meta").first.inner_text()
    assert reply.locator(".card .down").first.inner_text() == "不适合我"
    assert ui_words(page, LAUNCHER) == set(), "no English in the widget's own strings"
    shot(page, "widget-desktop-zh.png")
    assert visit.origins() <= {host, app}, visit.origins()
    visit.close()


@browser_test
def test_the_phone_layout_fills_the_screen(browser: Any, app: str, host: str) -> None:
    visit = Host(browser, host + "/plain.html", width=390, height=844)
    page = visit.page
    open_panel(page)
    send(page, SPACE)
    wait_done(page, replies=1)
    box = page.locator(f"{LAUNCHER} .popup").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}, box
    assert page.locator(f"{LAUNCHER} .launcher").is_hidden()  # the close button is in the panel's header
    for selector in (".input", ".send", ".card", ".close"):
        b = page.locator(f"{LAUNCHER} {selector}").first.bounding_box()
        assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 390, (selector, b)
    assert page.locator(f"{LAUNCHER} .popup .chatrec").evaluate("e => e.scrollWidth <= e.clientWidth")
    shot(page, "widget-phone.png")
    page.locator(f"{LAUNCHER} .close").click()
    assert page.locator(f"{LAUNCHER} .popup").is_hidden() and page.locator(f"{LAUNCHER} .launcher").is_visible()
    visit.close()


STYLE_PROPS = [
    "font-family",
    "font-size",
    "font-weight",
    "color",
    "background-color",
    "letter-spacing",
    "line-height",
    "text-transform",
    "margin-top",
    "margin-left",
    "padding-top",
    "padding-left",
    "border-top-width",
    "border-top-style",
    "border-top-color",
    "border-top-left-radius",
    "display",
    "position",
    "box-sizing",
    "opacity",
    "width",
    "height",
    "outline-style",
    "fill",
]
STYLED = [
    ".launcher",
    ".launcher svg",
    ".popup",
    ".chatrec",
    ".title",
    ".forget",
    ".close",
    ".log",
    ".input",
    ".send",
    ".msg.user",
    ".msg.bot",
    ".msg.bot .text",
    ".card",
    ".card .name",
    ".card .meta",
    ".card .why",
    ".card .up",
    ".card .down",
]


def styles(page: Any) -> dict[str, Any]:
    """Computed styles of the widget's parts, and the boxes of both widgets' hosts."""
    return page.evaluate(
        """([selectors, props]) => {
        const out = {};
        const root = document.querySelector('chatrec-widget').shadowRoot;
        for (const sel of selectors) {
            const el = root.querySelector(sel);
            const cs = el && getComputedStyle(el);
            out[sel] = cs ? props.map(p => cs.getPropertyValue(p)) : null;
        }
        for (const host of ['chatrec-widget', 'chatrec-chat']) {
            const el = document.querySelector(host), cs = getComputedStyle(el), r = el.getBoundingClientRect();
            out[host] = [r.width, r.height, cs.display, cs.opacity, cs.paddingTop, cs.borderTopWidth, cs.fontSize];
        }
        const inline = document.querySelector('chatrec-chat').shadowRoot.querySelector('.chatrec');
        out['inline .chatrec'] = props.map(p => getComputedStyle(inline).getPropertyValue(p));
        return out; }""",
        [STYLED, STYLE_PROPS],
    )


@browser_test
def test_the_host_pages_css_does_not_reach_the_widget(browser: Any, app: str, host: str) -> None:
    seen = {}
    for name in ("plain.html", "host.html"):
        visit = Host(browser, host + "/" + name)
        page = visit.page
        open_panel(page)
        send(page, SPACE)
        wait_done(page, replies=1)
        page.locator(f"{LAUNCHER} .input").blur()
        seen[name] = styles(page)
        if name == "host.html":
            assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(255, 0, 0)", (
                "the hostile CSS is in force on the page itself"
            )
            shot(page, "widget-hostile-css.png")
            for button in ("#logout", "#reset"):  # the host's hooks: the chatrec:reset event, window.chatrec.reset()
                assert token(page, app) is not None
                page.locator(button).click()
                page.wait_for_function(
                    f"() => {view_js(LAUNCHER)}.querySelectorAll('.msg').length === 0", timeout=10_000
                )
                assert token(page, app) is None and page.locator(f"{LAUNCHER} .hello").count() == 1
                send(page, SPACE)
                wait_done(page, replies=1)
        assert visit.origins() <= {host, app}, visit.origins()
        visit.close()
    plain, hostile = seen["plain.html"], seen["host.html"]
    differ = {
        key: list(zip(STYLE_PROPS, plain[key], hostile[key], strict=False))
        for key in plain
        if plain[key] != hostile[key]
    }
    differ = {key: [(p, a, b) for p, a, b in pairs if a != b] for key, pairs in differ.items()}
    assert not differ, differ
    assert plain["chatrec-chat"][:2] == [420, 520], "the inline chat takes the size its CSS variables give"
    assert "serif" not in plain[".send"][0].replace("sans-serif", "")
    assert plain[".send"][4] == "rgb(15, 118, 110)", "--chatrec-accent reaches in"


@browser_test
def test_a_page_on_an_origin_the_server_does_not_allow_is_refused(browser: Any, app: str, stranger: str) -> None:
    visit = Host(browser, stranger + "/plain.html")
    page = visit.page
    open_panel(page)
    error = page.locator(f"{LAUNCHER} .msg.error")
    error.wait_for(timeout=15_000)
    assert error.get_attribute("data-code") == "refused"
    assert "not allowed to use this chat" in error.inner_text()
    send(page, SPACE)
    page.wait_for_function(f"() => {view_js(LAUNCHER)}.querySelectorAll('.msg.error').length === 2", timeout=15_000)
    assert page.locator(f"{LAUNCHER} .card").count() == 0 and page.locator(f"{LAUNCHER} .msg.bot").count() == 0
    assert token(page, app) is None
    page.locator(f"{INLINE} .msg.error[data-code='refused']").wait_for(timeout=15_000)  # the inline chat says so too
    visit.console.clear()  # the refused calls are logged by the browser as errors: expected here
    visit.close()


@browser_test
def test_the_embed_page_in_an_iframe(browser: Any, app: str, host: str) -> None:
    visit = Host(browser, host + "/frame.html", widget=False)
    page = visit.page
    frame = next(f for f in page.frames if "/embed" in f.url)
    frame.wait_for_function("() => window.chatrec && window.chatrec.ready", timeout=30_000)
    box = frame.locator(INLINE).bounding_box()
    assert box is not None and box["width"] >= 415 and box["height"] >= 635, box  # fills the frame
    assert frame.locator(f"{INLINE} .title").inner_text() == "Film picks"
    send(frame, SPACE, scope=INLINE)
    wait_done(frame, replies=1, scope=INLINE)
    rejected = card_ids(frame, scope=INLINE)[0]
    frame.locator(f"{INLINE} .card").first.locator(".down").click()
    frame.locator(f"{INLINE} .card[data-item-id='{rejected}']").wait_for(state="detached", timeout=10_000)
    send(frame, "More like these", scope=INLINE)
    wait_done(frame, replies=2, scope=INLINE)
    assert rejected not in card_ids(frame, scope=INLINE)
    shot(page, "widget-embed.png")
    assert frame.locator(LAUNCHER).count() == 0, "no launcher in the iframe page"

    page.reload(wait_until="load")  # the iframe's own storage keeps the token: the history comes back
    frame = next(f for f in page.frames if "/embed" in f.url)
    frame.wait_for_function(f"() => {view_js(INLINE)}?.querySelectorAll('.msg.user').length === 2", timeout=30_000)
    assert frame.locator(f"{INLINE} .msg.user").all_inner_texts() == [SPACE, "More like these"]
    assert rejected not in card_ids(frame, scope=INLINE, last=False)
    send(frame, "我喜欢太空探索的电影", scope=INLINE)
    wait_done(frame, replies=3, scope=INLINE)
    assert re.search(r"[\u4e00-\u9fff]", frame.locator(f"{INLINE} .msg.bot .text").last.inner_text())

    frame.locator(f"{INLINE} .forget").click()  # asks first, then forgets
    frame.locator(f"{INLINE} .confirm").wait_for(state="visible")
    frame.locator(f"{INLINE} .confirm .yes").click()
    frame.wait_for_function(f"() => {view_js(INLINE)}?.querySelectorAll('.msg').length === 0", timeout=10_000)
    page.reload(wait_until="load")
    frame = next(f for f in page.frames if "/embed" in f.url)
    frame.wait_for_function("() => window.chatrec && window.chatrec.ready", timeout=30_000)
    page.wait_for_timeout(500)  # the history call, if any, has answered
    assert frame.locator(f"{INLINE} .msg").count() == 0, "forgotten: no history after a reload"
    assert visit.origins() <= {host, app}, visit.origins()
    visit.close()


@browser_test
def test_a_site_outside_the_allow_list_cannot_frame_the_embed_page(browser: Any, app: str, stranger: str) -> None:
    visit = Host(browser, stranger + "/frame.html", widget=False)
    page = visit.page
    page.wait_for_timeout(1500)
    framed = [f for f in page.frames if f is not page.main_frame]
    assert len(framed) == 1
    assert framed[0].evaluate("() => Boolean(window.chatrec)") is False, "the chat loaded inside a stranger's page"
    assert any("frame-ancestors" in m for m in visit.console), visit.console  # Chromium says why it refused
    assert app + "/widget.js" not in visit.requests
    visit.console.clear()  # the refusal is logged by the browser as an error: expected here
    visit.close()


FAKE_REC = {
    "item_id": "x1",
    "title": '<img src=x onerror="window.pwned=1">Orbit',
    "year": 2001,
    "kind": "movie",
    "description": "",
    "why": "<b>because</b> of space",
    "score": 1.0,
}


def fake_stream(route: Any) -> None:
    """A chat answer as the API sends it when the generator was busy, with markup in every text."""
    import json

    final = {
        "reply": "<i>Quick</i> picks <script>window.pwned=2</script>",
        "language": "en",
        "source": "template",
        "busy": True,
        "recommendations": [FAKE_REC],
    }
    body = "".join(
        f"event: {e}\ndata: {json.dumps(d)}\n\n"
        for e, d in [("recommendations", [FAKE_REC]), ("delta", {"text": "<i>Quick</i>"}), ("final", final)]
    )
    route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)


@browser_test
def test_a_busy_reply_is_said_and_markup_is_shown_as_text(browser: Any, app: str) -> None:
    visit = Host(browser, app + "/embed")  # same origin: the faked answer needs no CORS headers
    page = visit.page
    page.route("**/api/v1/chat", fake_stream)
    send(page, SPACE, scope=INLINE)
    wait_done(page, replies=1, scope=INLINE)
    assert page.locator(f"{INLINE} .note.busy").inner_text() == "Busy right now: here are quick picks."
    assert page.locator(f"{INLINE} .card .name").inner_text() == FAKE_REC["title"]
    assert page.locator(f"{INLINE} .card .why").inner_text() == FAKE_REC["why"]
    assert page.locator(f"{INLINE} .msg.bot .text").inner_text().startswith("<i>Quick</i> picks <script>")
    assert page.evaluate(f"() => {view_js(INLINE)}.querySelectorAll('img, script, b, i').length") == 0
    assert page.evaluate("window.pwned") is None
    visit.close()


# -- the real generator ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def writer_app(widget_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the packaged generator (the default one), on the doubles as `widget_engine` (the model's
    streaming is what is tested, not the ranking), allowing the same origin."""
    from chatrec.generators.loading import load_generator

    folder = tmp_path_factory.mktemp("writer")
    wanted = Settings(data_dir=folder, generator="qwen2.5-0.5b")
    generator = load_generator(wanted.generator, wanted.model_cache, wanted.generator_threads, wanted.generator_backend)
    eng = memory_engine(
        folder,
        generator=generator,
        allowed_origins=widget_engine.settings.allowed_origins,
        generation_budget_s=60.0,
        generation_wait_s=60.0,
    )
    eng.writer.warm()
    with serve(eng) as url:
        yield url.rstrip("/")


@browser_test
@pytest.mark.generation
def test_the_real_generator_streams_text(browser: Any, app: str, writer_app: str, host: str, pages: Path) -> None:
    plain = (pages / "plain.html").read_text(encoding="utf-8")
    (pages / "writer.html").write_text(plain.replace(app, writer_app), encoding="utf-8")
    visit = Host(browser, host + "/writer.html")
    page = visit.page
    open_panel(page)
    send(page, SPACE)
    page.locator(f"{LAUNCHER} .msg.bot .card").first.wait_for(timeout=60_000)
    lengths = []  # the reply's text as the browser shows it, while it streams
    for _ in range(1200):
        state = page.evaluate(f"""() => {{ const v = {view_js(LAUNCHER)};
            return [v.dataset.state, v.querySelector('.msg.bot .text').textContent.length]; }}""")
        if not lengths or lengths[-1] != state[1]:
            lengths.append(state[1])
        if state[0] == "done":
            break
        page.wait_for_timeout(50)
    wait_done(page, replies=1, timeout_s=120)
    reply = page.locator(f"{LAUNCHER} .msg.bot").last
    source, deltas = reply.get_attribute("data-source"), int(reply.get_attribute("data-deltas") or 0)
    assert source == "generator", "the model's reply passed its checks"
    assert deltas >= 2 and len([n for n in lengths if n]) >= 2, (deltas, lengths)
    shot(page, "widget-generated.png")
    assert visit.origins() <= {host, writer_app}, visit.origins()
    visit.close()
