"""Catalog facets in words, in English and Chinese: a conversation's bound ("for 2 players", "up to 30 minutes", "not
too heavy", "两人", "30分钟以内", "不太重") and an item's own value ("2–4 players", "45 minutes", "2–4人").

The sidecar's spec says what a facet is (its unit, the two ends of its scale, its values' Chinese names); a facet
it does not describe is named as the catalog names it. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chatrec.catalog.facets import Bound, FacetSpec, FacetValue
from chatrec.reading.language import CJK

UNIT_ZH = {"players": "人", "player": "人", "minutes": "分钟", "minute": "分钟", "years": "岁", "hours": "小时"}
NAME_ZH = {"players": "人数", "minutes": "时长", "weight": "重度", "age": "年龄", "mechanics": "机制"}
SCALE_ZH = {"light": "轻度", "heavy": "重度", "simple": "简单", "complex": "复杂", "easy": "简单", "hard": "难"}


def _n(value: float) -> str:
    return f"{value:g}"


def _kind(spec: FacetSpec | None, name: str) -> str:
    """What sort of facet this is for wording: players, minutes, age, scale, values or number."""
    unit = ((spec.unit if spec else "") or name).lower()
    if name == "players" or unit in ("player", "players"):
        return "players"
    if name in ("minutes", "playtime", "duration") or unit in ("minute", "minutes", "min"):
        return "minutes"
    if name == "age" or unit in ("years", "year", "age"):
        return "age"
    if spec is not None and spec.scale and scale_ends(spec.scale) != ("", ""):
        return "scale"
    return "number"


def scale_ends(scale: str) -> tuple[str, str]:
    """The words at the two ends of a scale: '1 light .. 5 heavy' -> ('light', 'heavy')."""
    words = re.findall(r"[A-Za-z\u3400-\u9fff][\w\u3400-\u9fff-]*", scale)
    return (words[0], words[-1]) if len(words) >= 2 else ("", "")


def scale_middle(scale: str) -> float | None:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", scale)]
    return (min(numbers) + max(numbers)) / 2 if len(numbers) >= 2 else None


def name_zh(spec: FacetSpec | None, name: str) -> str:
    if name in NAME_ZH:
        return NAME_ZH[name]
    return next((w for w in (spec.words if spec else ()) if CJK.search(w)), name)


def reading_order(name: str, specs: Mapping[str, FacetSpec]) -> int:
    """Where a facet comes when several are said together: players, time, age, a scale, other numbers, values."""
    spec = specs.get(name)
    if spec is not None and spec.type in ("list", "string"):
        return 9
    return ("players", "minutes", "age", "scale", "number").index(_kind(spec, name))


def bound_text(bound: Bound, specs: Mapping[str, FacetSpec], language: str) -> str:
    """A conversation's bound on a facet in words."""
    spec = specs.get(bound.name)
    zh = language == "zh"
    if bound.any:
        names = [value_text(v, spec, language) for v in bound.any]
        if zh:
            suffix = next((w for w in (spec.words if spec else ()) if CJK.search(w) and len(w) > 1), "")
            return "或".join(names) + suffix
        return "with " + " or ".join(names)
    kind = _kind(spec, bound.name)
    low, high, exact = bound.min, bound.max, bound.includes
    if kind == "players":
        if exact is not None:
            only = high is not None and high == exact
            return (
                (f"只限{_n(exact)}人" if only else f"{_n(exact)}人")
                if zh
                else (
                    f"for exactly {_n(exact)} players" if only else f"for {_n(exact)} player{'s' if exact != 1 else ''}"
                )
            )
        return _between(low, high, "人" if zh else " players", zh, lead="for ")
    if kind == "minutes":
        return _between(low, high, "分钟" if zh else " minutes", zh)
    if kind == "age":
        if high is not None and low is None:
            return f"适合{_n(high)}岁" if zh else f"for a {_n(high)}-year-old"
        return _between(low, high, "岁" if zh else " years of age", zh)
    if kind == "scale" and spec is not None:
        return _scale_text(bound, spec, zh)
    unit = (spec.unit if spec else "") or ""
    label = name_zh(spec, bound.name) if zh else bound.name
    return label + ("" if zh else " ") + _between(low, high, UNIT_ZH.get(unit, unit) if zh else " " + unit, zh).strip()


def _between(low: float | None, high: float | None, unit: str, zh: bool, lead: str = "") -> str:
    unit = unit if unit.strip() else ""
    if low is not None and high is not None:
        return f"{_n(low)}–{_n(high)}{unit}" if zh else f"{lead}{_n(low)}–{_n(high)}{unit}"
    if high is not None:
        return f"{_n(high)}{unit}以内" if zh else f"{lead}up to {_n(high)}{unit}"
    if low is not None:
        return f"{_n(low)}{unit}以上" if zh else f"{lead}at least {_n(low)}{unit}"
    return ""


def _scale_text(bound: Bound, spec: FacetSpec, zh: bool) -> str:
    """'light', 'not too heavy', 'heavy' on a scale whose ends the sidecar names; else the numbers."""
    low_word, high_word = scale_ends(spec.scale)
    middle = scale_middle(spec.scale)
    if bound.max is not None and bound.min is None and middle is not None and bound.max <= middle:
        if bound.max < middle - 0.5:
            return SCALE_ZH.get(low_word, low_word) if zh else low_word
        return f"不太{SCALE_ZH.get(high_word, high_word).removesuffix('度')}" if zh else f"not too {high_word}"
    if bound.min is not None and bound.max is None and middle is not None and bound.min > middle:
        return SCALE_ZH.get(high_word, high_word) if zh else high_word
    label = name_zh(spec, bound.name) if zh else bound.name
    return label + ("" if zh else " ") + _between(bound.min, bound.max, "", zh).strip()


def value_text(value: str, spec: FacetSpec | None, language: str) -> str:
    """One value of a list or string facet ('dice' -> '骰子' where the sidecar names it)."""
    if language == "zh" and spec is not None:
        return spec.value_zh(value).split("/")[0]
    return value


def item_value_text(name: str, value: FacetValue, spec: FacetSpec | None, language: str) -> str:
    """An item's own facet value in words: '2–4 players', '45 minutes', 'ages 8+', 'weight 2.1', '2–4人'."""
    zh = language == "zh"
    if isinstance(value, str):
        return value_text(value, spec, language)
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        return "、".join(value_text(str(v), spec, language) for v in value) if zh else ", ".join(map(str, value))
    kind = _kind(spec, name)
    if isinstance(value, tuple):
        low, high = float(value[0]), float(value[1])
        number = _n(low) if low == high else f"{_n(low)}–{_n(high)}"
        many = high != 1
    else:
        number, many = _n(float(value)), float(value) != 1
    if kind == "players":
        return f"{number}人" if zh else f"{number} player{'s' if many else ''}"
    if kind == "minutes":
        return f"{number}分钟" if zh else f"{number} minutes"
    if kind == "age":
        return f"{number}岁以上" if zh else f"ages {number}+"
    unit = (spec.unit if spec else "") or ""
    top = _scale_top(spec) if kind == "scale" else None
    if zh:
        return f"{name_zh(spec, name)}{number}{UNIT_ZH.get(unit, unit)}" + (f"/{top}" if top else "")
    return f"{name} {number}{' ' + unit if unit else ''}" + (f" of {top}" if top else "")


def _scale_top(spec: FacetSpec | None) -> str | None:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", spec.scale)] if spec else []
    return _n(max(numbers)) if len(numbers) >= 2 else None
