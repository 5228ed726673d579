"""Short notices the reply starts with: titles the user named that the catalog does not have."""

from __future__ import annotations

from collections.abc import Sequence


def unknown_notice(titles: Sequence[str], language: str) -> str:
    """'Heat isn't in this catalog, so I went by the rest of what you said. ' (empty when there are none)."""
    if not titles:
        return ""
    if language == "zh":
        named = "、".join(f"《{t}》" for t in titles)
        return f"目录里没有{named}，我按你说的其他内容来推荐。"
    named = " or ".join(", ".join(titles[:-1]).split(", ") + [titles[-1]]) if len(titles) > 1 else titles[0]
    verb = "aren't" if len(titles) > 1 else "isn't"
    return f"{named} {verb} in this catalog, so I went by the rest of what you said. "
