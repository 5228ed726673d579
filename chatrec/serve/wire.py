"""The one wire format: a turn, its recommendations and a user's history as the dicts every surface sends, and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chatrec.catalog.facets import parse_facets
from chatrec.catalog.items import Item
from chatrec.results import Recommendation, Turn

__all__ = [
    "FACT_FIELDS",
    "REC_FIELDS",
    "TURN_FIELDS",
    "history",
    "recommendation",
    "recommendations",
    "turn",
    "turn_from_wire",
]

REC_FIELDS = ("item_id", "title", "year", "kind", "description", "why", "score")  # the contract's (CONTRACT.md)
FACT_FIELDS = ("genres", "creators", "cast", "tags", "aliases")  # the item's catalog facts, beyond the contract
TURN_FIELDS = ("reply", "language", "source", "recommendations", "busy", "notes", "unknown", "relaxed")
MAX_HISTORY_TURNS = 100  # the most recent turns a history gives (a widget shows no more)


def recommendation(rec: Recommendation, item: Item | None) -> dict[str, Any]:
    """A recommendation on the wire: the contract's fields and its catalog item's facts (empty lists without it)."""
    return {
        "item_id": rec.item_id,
        "title": rec.title,
        "year": rec.year,
        "kind": rec.kind,
        "description": rec.description,
        "why": rec.why,
        "score": rec.score,
        **{name: list(getattr(item, name)) if item is not None else [] for name in FACT_FIELDS},
        "facets": facets(item),
    }


def facets(item: Item | None) -> dict[str, Any]:
    """The item's catalog facets as JSON: numbers, [min, max] ranges, strings, lists of strings."""
    if item is None:
        return {}
    return {name: (list(value) if isinstance(value, tuple) else value) for name, value in item.facets}


def recommendations(recs: Iterable[Recommendation], items: Mapping[str, Item]) -> list[dict[str, Any]]:
    """Recommendations on the wire, best first; `items` (the engine's catalog by id) give their facts."""
    return [recommendation(rec, items.get(rec.item_id)) for rec in recs]


def turn(answer: Turn, items: Mapping[str, Item]) -> dict[str, Any]:
    """A chat turn on the wire: the JSON API's answer and `final` event, the web page's `/chat` answer."""
    return {
        "reply": answer.reply,
        "language": answer.language,
        "source": answer.source,
        "recommendations": recommendations(answer.recommendations, items),
        "busy": answer.busy,
        "notes": list(answer.notes),
        "unknown": list(answer.unknown),
        "relaxed": list(answer.relaxed),
    }


def turn_from_wire(answer: Mapping[str, Any]) -> tuple[Turn, list[Item], frozenset[str]]:
    """A turn on the wire as a Turn, its items as far as the answer tells, and the FACT_FIELDS it lacked."""
    recs = answer["recommendations"]
    back = Turn(
        reply=answer["reply"],
        language=answer["language"],
        source=answer.get("source", ""),
        recommendations=[_rec_from_wire(r) for r in recs],
        notes=tuple(answer.get("notes") or ()),
        busy=bool(answer.get("busy", False)),
        unknown=tuple(answer.get("unknown") or ()),
        relaxed=tuple(answer.get("relaxed") or ()),
    )
    return back, [_item_from_wire(r) for r in recs], frozenset(f for f in FACT_FIELDS if any(f not in r for r in recs))


def _rec_from_wire(rec: Mapping[str, Any]) -> Recommendation:
    return Recommendation(
        rec["item_id"],
        rec["title"],
        float(rec["score"]),
        rec["why"],
        rec.get("year"),
        rec.get("kind") or "",
        rec.get("description") or "",
    )


def _item_from_wire(rec: Mapping[str, Any]) -> Item:
    facts: dict[str, Any] = {name: tuple(rec.get(name) or ()) for name in FACT_FIELDS}
    try:
        facts["facets"] = parse_facets(rec.get("facets") or {})
    except ValueError:
        facts["facets"] = ()
    return Item(
        id=rec["item_id"],
        title=rec["title"],
        description=rec.get("description") or "",
        year=rec.get("year"),
        kind=rec.get("kind") or "",
        **facts,
    )


def history(events: list[dict[str, Any]], items: Mapping[str, Item], limit: int = MAX_HISTORY_TURNS) -> dict[str, Any]:
    """The user's past turns from their stored events (`Engine.export`): each message, the items shown in answer
    (those still in the catalog) and the user's latest thumbs on each (none after an edit that forgot the item).
    Replies are not stored, so not given."""
    turns: list[dict[str, Any]] = []
    thumbs: dict[str, str] = {}
    for event in events:
        kind, payload = event["kind"], event["payload"]
        if kind == "message":
            turns.append({"ts": event["ts"], "message": str(payload.get("text", "")), "shown": []})
        elif kind == "shown" and turns and not turns[-1]["shown"]:
            turns[-1]["shown"] = [i for i in payload.get("items", []) if i in items]
        elif kind == "feedback" and payload.get("item") in items:
            thumbs[payload["item"]] = "up" if payload.get("liked") else "down"
        elif kind == "edit":  # what was said of an item, forgotten from the profile: its thumbs too
            for item in (payload.get("remove") or {}).get("items", ()):
                thumbs.pop(item, None)
    return {
        "turns": [
            {
                "ts": past["ts"],
                "message": past["message"],
                "recommendations": [_history_item(items[i], thumbs.get(i)) for i in past["shown"]],
            }
            for past in turns[-limit:]
        ]
    }


def _history_item(item: Item, feedback: str | None) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "title": item.title,
        "year": item.year,
        "kind": item.kind,
        "description": item.description,
        "feedback": feedback,
    }
