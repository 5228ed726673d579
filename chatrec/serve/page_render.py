"""The web UI's HTML and CSS: cards, the interests panel, the status line, every piece of text escaped (no gradio)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from chatrec.serve.page_text import genre_name, intro, kind_name, t

FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", "DejaVu Sans", '
    '"Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
)  # local fonts only: no web-font download


def _icon(path: str) -> str:
    """A 24x24 stroked SVG as a CSS data URL (drawn with `mask`, so it takes the text colour; no emoji font)."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2' "
        f"stroke-linecap='round' stroke-linejoin='round'><path d='{path}'/></svg>"
    )
    return 'url("data:image/svg+xml,' + svg.replace("<", "%3C").replace(">", "%3E").replace("#", "%23") + '")'


THUMB_UP = _icon(
    "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7"
    "a2 2 0 0 1 2-2h3"
)
THUMB_DOWN = _icon(
    "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 "
    "22 4v7a2.31 2.31 0 0 1-2.33 2H17"
)
CSS = (
    """
:root, .gradio-container { --font: FONT !important; }
.gradio-container, .gradio-container button, .gradio-container input, .gradio-container textarea,
.gradio-container h1, .gradio-container h3, .gradio-container h4, .gradio-container b, .gradio-container strong,
.card, .card h4 { font-family: FONT !important; }
footer { display: none !important; }
#top { align-items: center; gap: 8px; }
#header .brand { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
#header h1 { margin: 0; font-size: 1.5em; font-weight: 700; }
#header p { margin: 0; opacity: .8; }
#lang { flex-grow: 0; padding: 0 !important; border: none !important; box-shadow: none !important;
        background: transparent !important; }
#lang .wrap { flex-wrap: nowrap; gap: 4px; }
#lang label { padding: 2px 10px; margin: 0; }
#chat .top-panel { display: none !important; }   /* the chat lives on the server: no local clearing */
#chat-col, #side-col { gap: 8px; }
#input-row { gap: 8px; align-items: stretch; }
#status { padding: 0 4px; }
#status .status { min-height: 1.4em; font-size: .9em; opacity: .8; }
#cards { gap: 6px; }
.card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0 !important;
        background: var(--background-fill-primary) !important; overflow: hidden; }
.card .styler, .card .block, .card .row { background: transparent !important; }
.card .block { padding: 6px 10px 2px !important; }
.card .html-container { padding: 0 !important; }
.card-body { min-width: 0; }
.card h4 { margin: 0; font-size: 1em; font-weight: 700; overflow-wrap: anywhere; }
.card .meta { opacity: .7; font-size: .82em; }
.card .desc { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: .9em; }
.card .why { font-style: italic; font-size: .9em; display: -webkit-box; -webkit-line-clamp: 2;
             -webkit-box-orient: vertical; overflow: hidden; }
.card .note { font-size: .85em; font-weight: 600; }
.card-actions { gap: 6px !important; justify-content: flex-start; flex-wrap: wrap; padding: 0 10px 6px; }
.card-actions button { flex: none !important; width: auto !important; min-width: 0 !important; white-space: nowrap;
                       padding: 2px 10px !important; border: 1px solid var(--border-color-primary) !important;
                       border-radius: 6px !important; }
.thumb::before { content: ""; display: inline-block; width: 1em; height: 1em; margin-right: .35em; flex: none;
                 vertical-align: -.15em; background-color: currentColor;
                 -webkit-mask: var(--icon) center / contain no-repeat; mask: var(--icon) center / contain no-repeat; }
.thumb-up { --icon: THUMB_UP; } .thumb-down { --icon: THUMB_DOWN; }
#profile h3 { margin: 4px 0; font-size: 1.05em; }
#profile .state-group { margin: 4px 0 6px; }
#profile h4 { margin: 0 0 2px; font-size: .85em; font-weight: 600; opacity: .75; }
.chip { display: inline-flex; align-items: center; gap: 2px; max-width: 100%; border-radius: 10px;
        padding: 1px 2px 1px 8px; margin: 2px; overflow-wrap: anywhere;
        background: var(--block-background-fill); border: 1px solid var(--border-color-primary); }
.chip .said { font-size: .8em; opacity: .7; }
.chip-x { flex: none; border: none !important; background: transparent !important; cursor: pointer;
          padding: 0 5px !important; margin: 0 !important; line-height: 1.2; font-size: 1em; opacity: .6;
          color: inherit; border-radius: 8px; }
.chip-x:hover, .chip-x:focus-visible { opacity: 1; background: var(--border-color-primary) !important; }
.chip-x:disabled { opacity: .3; cursor: default; }
#forget { align-self: flex-start; flex: none; width: auto; }
#forget-confirm { padding: 8px; border: 1px solid var(--border-color-primary); border-radius: 8px;
                  background: var(--background-fill-primary) !important; }
#forget-confirm .styler, #forget-confirm .block, #forget-confirm .row { background: transparent !important; }
#forget-confirm .row { gap: 8px; }
#forget-confirm button { flex: none !important; width: auto !important; min-width: 0 !important;
                         padding: 4px 14px !important;
                         border: 1px solid var(--border-color-primary) !important; border-radius: 6px !important; }
#examples .label { font-size: .9em; opacity: .8; }
#examples .block { padding-bottom: 0 !important; }
#examples .row { flex-wrap: wrap; gap: 6px; }
#examples button { flex: none !important; width: auto !important; min-width: 0 !important; }
@media (max-width: 700px) {
  .gradio-container { padding-left: 8px !important; padding-right: 8px !important; }
  #main { flex-direction: column; }
  #chat-col, #side-col { min-width: 0 !important; width: 100% !important; }
  #header p { font-size: .9em; }
  #chat { height: 50vh !important; }
}
""".replace("FONT", FONT)
    .replace("THUMB_UP", THUMB_UP)
    .replace("THUMB_DOWN", THUMB_DOWN)
)


# -- rendering (every piece of text escaped) --------------------------------------------------------------------
def esc(text: Any) -> str:
    """`text` as HTML text or an attribute value: everything escaped, quotes included."""
    return html.escape(str(text), quote=True)


def card_html(
    rec: dict[str, Any], note: str = "", lang: str = "en", genre: Callable[[str, str], str] = genre_name
) -> str:
    """One compact card: title, a meta line (year, kind, genres), one line of description, the reason, a note.
    `genre(name, lang)`: a genre as the user reads it (the page gives the catalog's own Chinese names)."""
    facts = (
        rec.get("year"),
        kind_name(rec.get("kind") or "", lang),
        *(genre(g, lang) for g in rec.get("genres", ())[:2]),
    )
    meta = " · ".join(esc(x) for x in facts if x)
    description = rec.get("description") or ""
    line = description if len(description) <= 160 else description[:157].rstrip() + "…"
    note = note or {"up": t("liked_note", lang), "down": t("rejected_note", lang)}.get(rec.get("feedback", ""), "")
    extra = f'<div class="note">{esc(note)}</div>' if note else ""
    return (
        f'<div class="card-body" data-item="{esc(rec["item_id"])}"><h4>{esc(rec["title"])}</h4>'
        f'<div class="meta">{meta}</div><div class="desc">{esc(line)}</div>'
        f'<div class="why">{esc(rec["why"])}</div>{extra}</div>'
    )


GROUPS = (  # the panel's groups: a heading, and where each entry comes from in `profile["state"]`
    ("state_now", (("now", "kind"), ("now", "wants"), ("now", "constraints"))),
    ("state_less_of", (("less_of",),)),
    ("state_never", (("never", "genres"), ("never", "people"), ("never", "items"))),
    ("state_named", (("named",),)),
)


def profile_html(profile: dict[str, Any] | None, lang: str = "en") -> str:
    """The panel under the cards: the dialogue state in four headed groups (now, less of for now, never, what you
    named), each entry with a × that removes it (`data-field`, `data-value`: the edit, chatrec/users/state.py)."""
    heading = f"<h3>{esc(t('interests_heading', lang))}</h3>"
    groups = [(key, entries) for key, paths in GROUPS if (entries := _entries(profile, paths))]
    if not groups:
        return f'{heading}<p class="empty">{esc(t("empty_panel", lang))}</p>'
    return heading + "".join(
        f'<div class="state-group" data-group="{esc(key)}"><h4>{esc(t(key, lang))}</h4>'
        f'<div class="chips">{"".join(_chip(e, lang) for e in entries)}</div></div>'
        for key, entries in groups
    )


def _entries(profile: dict[str, Any] | None, paths: tuple[tuple[str, ...], ...]) -> list[dict[str, str]]:
    """The state's entries at `paths` (a named item disliked shows under "never" only)."""
    out: list[dict[str, str]] = []
    for path in paths:
        found: Any = (profile or {}).get("state") or {}
        for key in path:
            found = found.get(key) if isinstance(found, dict) else None
        values = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        out += [e for e in values if isinstance(e, dict) and not (path == ("named",) and e.get("said") == "disliked")]
    return out


def _chip(entry: dict[str, str], lang: str) -> str:
    """One entry: its text (a liked item marked so) and its remove button."""
    text = str(entry.get("text", ""))
    said = f' <span class="said">{esc(t("said_liked", lang))}</span>' if entry.get("said") == "liked" else ""
    label = esc(t("remove", lang, what=text))
    return (
        f'<span class="chip" data-field="{esc(entry.get("field", ""))}">{esc(text)}{said}'
        f'<button type="button" class="chip-x" data-field="{esc(entry.get("field", ""))}" '
        f'data-value="{esc(entry.get("value", ""))}" aria-label="{label}" title="{label}">×</button></span>'
    )


def status_html(state: str, lang: str, busy: bool = False, source: str = "") -> str:
    """The status line: only what the user needs ("Writing…", "Ready", busy). `data-*` say the same for tests."""
    text = (
        t("busy", lang)
        if busy
        else {"writing": t("writing", lang), "done": t("ready", lang), "forgotten": t("forgotten", lang)}.get(state, "")
    )
    return (
        f'<div class="status" data-state="{esc(state)}" data-source="{esc(source)}" '
        f'data-busy="{str(busy).lower()}">{esc(text)}</div>'
    )


def header_html(lang: str, kinds: Sequence[str] = ()) -> str:
    """The page header: the title and a one-line introduction naming the catalog's kinds, most common first."""
    return f'<div class="brand"><h1>{esc(t("title", lang))}</h1><p>{esc(intro(kinds, lang))}</p></div>'


def examples_label_html(lang: str) -> str:
    """The label above the example messages."""
    return f'<div class="label">{esc(t("examples", lang))}</div>'
