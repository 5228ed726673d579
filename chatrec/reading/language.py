"""Telling Chinese from English text (enough for choosing reply language and embedding parts)."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def detect_language(text: str) -> str:
    """'zh' when a fair share of the letters are Chinese characters, else 'en'."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    return "zh" if sum(bool(CJK.match(c)) for c in letters) / len(letters) >= 0.2 else "en"
