"""What a chat turn returns: the reply and the recommendations, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recommendation:
    """One recommended item; `why` names the user's interest and the item fact that matched."""

    item_id: str
    title: str
    score: float
    why: str
    year: int | None = None
    kind: str = ""
    description: str = ""


@dataclass(frozen=True)
class Turn:
    """The bot's answer to one message."""

    reply: str
    recommendations: list[Recommendation] = field(default_factory=list)
    language: str = "en"
    notes: tuple[str, ...] = ()  # what was understood and applied ("left out horror", ...)
    final: bool = True  # False while the reply is still streaming
    source: str = "template"  # "generator": grounded generated text; "template": the template reply
    problem: str = ""  # why generation stopped early or was not used (for logs, never for the user)
    busy: bool = False  # the template answered at once: the generator was serving other users
    unknown: tuple[str, ...] = ()  # titles the message named that the catalog does not have (the reply says so)
    relaxed: tuple[str, ...] = ()  # constraints let go for there to be picks: "kind", "years", facet names
