"""Reading facet constraints in a message, in English and Chinese: "two player", "under 30 minutes", "for a
10-year-old", "not too heavy", "with dice", "两人", "半小时以内", "不要太重".

Which facets a catalog has, and their units and words, come from its sidecar (catalog/facets.py); the readers here
know units (players, minutes, years of age), a scale's two ends (light .. heavy) and list values. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chatrec.catalog.facets import Bound, FacetSpec

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "twelve": 12, "solo": 1, "single": 1, "couple": 2, "pair": 2,
}  # fmt: skip
ZH_DIGITS = {
    "一": 1,
    "单": 1,
    "两": 2,
    "二": 2,
    "双": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_NUM = r"(\d{1,3}|" + "|".join(NUMBER_WORDS) + r")"
_ZH_NUM = r"(\d{1,3}|[一单两二双三四五六七八九十]{1,2})"

HIGH_WORDS = ("heavy", "heavier", "complex", "crunchy", "deep", "brain burner", "brainy", "重度", "复杂", "烧脑", "重")
LOW_WORDS = ("light", "lighter", "simple", "easy", "casual", "breezy", "轻度", "简单", "轻松", "轻")
# a high word under negation or "too": "not too heavy", "nothing heavy", "不要太重", "别太复杂"
NOT_HIGH = re.compile(
    r"\b(?:not|nothing|never|no|isn'?t|without)\s+(?:too\s+|that\s+|so\s+|very\s+|overly\s+|super\s+)?"
    r"(?:heavy|complex|complicated|crunchy|deep|brainy)\b|\bless (?:heavy|complex)\b|"
    r"(?:不要|不想|别|不能|不用)太?(?:重|复杂|烧脑|难)|不那么(?:重|复杂|烧脑)|太(?:重|复杂|烧脑|难)了?",
    re.I,
)
MEDIUM_HIGH = re.compile(
    r"\b(?:medium[- ]heavy|mid(?:dle)?[- ]weight or (?:more|heavier)|meaty|meatier)\b|中重度", re.I
)
HIGH = re.compile(r"\b(?:heavy|heavier|complex|crunchy|brain[- ]burners?|thinky)\b|重度|烧脑|硬核|复杂", re.I)
LOW = re.compile(
    r"\b(?:light(?:er|weight)?|simple|simpler|easy|easier|casual|breezy|gateway|beginners?|newbies?|"
    r"new to (?:board )?gam(?:es|ing))\b(?![- ]?hearted)|"
    r"轻度|简单|轻松|上手快|入门|新手",
    re.I,
)

MINUTES = re.compile(
    r"\b(?:under|less than|within|at most|no more than|shorter than|below|max(?:imum)?|up to)\s+(?:an?\s+)?"
    r"(\d{1,3}(?:\.\d)?|half an|an|one|two|three)\s*(minutes?|mins?|hours?|hrs?|h)\b"
    r"|\b(\d{1,3}(?:\.\d)?|half an|an|one|two|three)\s*(minutes?|mins?|hours?|hrs?)\s+(?:or less|max|tops|at most)\b"
    r"|(半|一|两|\d{1,3})\s*(?:个)?\s*(小时|分钟)\s*(?:以内|之内|内|以下|左右)"
    r"|(?:别|不要|不能|不)超过\s*(半|一|两|\d{1,3})\s*(?:个)?\s*(小时|分钟)",
    re.I,
)
LONGER = re.compile(
    r"\b(?:over|more than|longer than|at least)\s+(\d{1,3}|an|one|two|three)\s*(minutes?|mins?|hours?|hrs?)\b|"
    r"(\d{1,3}|一|两)\s*(?:个)?\s*(小时|分钟)\s*以上|至少\s*(半|一|两|\d{1,3})\s*(?:个)?\s*(小时|分钟)",
    re.I,
)
QUICK = re.compile(r"\b(?:quick|short|fast|filler)\s+(?:games?|ones?|plays?)\b|\bquick\b|快速|很快|短一点|时间短", re.I)

PLAYERS_EN = re.compile(
    rf"\b(?:for\s+)?{_NUM}[- ]?(?:players?|people|persons?|p)\b|\bplayer count of {_NUM}\b|"
    rf"\b{_NUM}\s+of us\b(?!\s+(?:are|aren'?t|is|isn'?t|do|don'?t|can|can'?t|have|haven'?t|speak|like|love|hate|want|"
    r"prefer|know|play chess))|"
    rf"\b(?:group|party|family|table) of {_NUM}\b|"
    r"\b(solo|single[- ]player|two[- ]player|2[- ]player|head[- ]to[- ]head)\b|\bfor (?:a )?(couple|pair)\b|"
    r"\b(?:for|with)\s+(?:me\s+and\s+)?(?:my\s+)?(?:wife|husband|partner|girlfriend|boyfriend|friend)\b(?!\s+and\b)|"
    r"\bme\s+and\s+my\s+(?:wife|husband|partner|girlfriend|boyfriend|friend|roommate|flatmate|brother|sister|son|"
    r"daughter|kid|dad|mom|mum)\b(?!\s+and\b)|"
    rf"\b(?:games?\s+)?for\s+{_NUM}\b(?!\s*(?:min|hour|hrs|year|days?|weeks?|nights?|\.\d))|"
    r"\bwe(?:'re|’re| are)\s+(?:usually\s+|normally\s+|often\s+|mostly\s+|typically\s+|always\s+)?"
    rf"{_NUM}\b(?!\s*(?:min|hour|year))|"
    rf"\bthere(?:'s|’s| are| will be)\s+{_NUM}\s+of us\b",
    re.I,
)
EXACT_PLAYERS = re.compile(
    rf"\b(?:exactly|only|just)\s+(?:for\s+)?{_NUM}[- ]?(?:players?|people)\b|\b{_NUM}[- ]players?[- ]only\b|"
    rf"\bmade for (?:exactly )?{_NUM}(?: players?| people)?\b|专门给{_ZH_NUM}个?人|只能{_ZH_NUM}个?人|{_ZH_NUM}人专属",
    re.I,
)
PLAYERS_ZH = re.compile(
    rf"一家{_ZH_NUM}口|"
    rf"(?<![别同])(?<!同一){_ZH_NUM}\s*(?:个)?\s*(?:人|玩家)(?:玩|游戏|桌游|局|的)?|(单人|双人|两人|二人)"
)
AGE_EN = re.compile(
    r"\bfor (?:a |my |an )?(\d{1,2})[- ]?(?:year[- ]?olds?|yo)\b|\b(\d{1,2})[- ]?year[- ]?olds?\b|"
    r"\bages? (\d{1,2})\+?|\bkids? (?:aged|of) (\d{1,2})\b",
    re.I,
)
AGE_ZH = re.compile(r"(\d{1,2}|[一二两三四五六七八九十]{1,2})\s*岁")


@dataclass(frozen=True)
class FacetReading:
    """What a message says of the catalog's facets: the bounds, and the spans of text that said it (cut from what
    is read as interest, so "not too heavy" never makes "heavy" an interest)."""

    bounds: tuple[Bound, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()


def read_facets(text: str, specs: Mapping[str, FacetSpec]) -> FacetReading:
    """The facet bounds `text` states, for the facets in `specs`."""
    bounds: list[Bound] = []
    spans: list[tuple[int, int]] = []
    for spec in specs.values():
        found = _read_one(text, spec)
        if found is not None:
            bound, where = found
            bounds.append(bound)
            spans += where
    return FacetReading(tuple(bounds), tuple(spans))


def _read_one(text: str, spec: FacetSpec) -> tuple[Bound, list[tuple[int, int]]] | None:
    unit = (spec.unit or spec.name).lower()
    if unit in ("player", "players") or spec.name == "players":
        return _players(text, spec.name)
    if unit in ("minute", "minutes", "min") or spec.name in ("minutes", "playtime", "duration"):
        return _minutes(text, spec.name)
    if spec.name == "age" or unit in ("years", "year", "age"):
        return _age(text, spec.name)
    if spec.type == "number" and spec.scale:
        return _scale(text, spec)
    if spec.type in ("list", "string"):
        return _values(text, spec)
    return None


def _number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if word and all(c in ZH_DIGITS for c in word):
        if word == "十":
            return 10
        if len(word) == 2 and word[0] == "十":
            return 10 + ZH_DIGITS[word[1]]
        if len(word) == 2 and word[1] == "十":
            return ZH_DIGITS[word[0]] * 10
        return ZH_DIGITS[word[0]] if len(word) == 1 else None
    return None


def _players(text: str, name: str) -> tuple[Bound, list[tuple[int, int]]] | None:
    if m := EXACT_PLAYERS.search(text):  # "exactly two players": no game for more
        exact = _number(next(g for g in m.groups() if g))
        if exact is not None and 1 <= exact <= 20:
            return Bound(name, max=float(exact), includes=float(exact)), [m.span()]
    for m in [*PLAYERS_EN.finditer(text), *PLAYERS_ZH.finditer(text)]:
        said = next((g for g in m.groups() if g), "").lower()
        if said.startswith(("two", "2", "head", "couple", "pair", "双", "两", "二")) or not said:
            n: int | None = 2
        elif said.startswith(("solo", "single", "单")):
            n = 1
        else:
            n = _number(said)
        if n is not None and 1 <= n <= 20:
            return Bound(name, includes=float(n)), [m.span()]
    return None


def _as_minutes(amount: str, unit: str) -> int | None:
    amount = amount.lower().strip()
    hours = unit.lower().startswith(("h", "小"))
    if amount in ("half an", "半"):
        return 30
    if re.fullmatch(r"\d{1,3}\.\d", amount):  # "1.5 hours"
        return round(float(amount) * (60 if hours else 1))
    n = 1 if amount in ("an", "a", "one", "一") else _number(amount)
    if n is None:
        return None
    return n * 60 if hours else n


def _half_hours(text: str) -> str:
    """ "一个半小时" written as "90 分钟" (as long, so that what the text's spans point at stays put)."""

    def minutes(m: re.Match[str]) -> str:
        n = _number(m.group(1))
        said = f"{round(((n or 0) + 0.5) * 60)}分钟"
        return said.rjust(len(m.group(0))) if n else m.group(0)

    return re.sub(r"(一|两|二|三|\d)\s*个半\s*小时", minutes, text)


def _minutes(text: str, name: str) -> tuple[Bound, list[tuple[int, int]]] | None:
    text = _half_hours(text)
    if m := MINUTES.search(text):
        groups = [g for g in m.groups() if g]
        n = _as_minutes(groups[0], groups[1]) if len(groups) >= 2 else None
        if n:
            return Bound(name, max=float(n)), [m.span()]
    if m := LONGER.search(text):
        groups = [g for g in m.groups() if g]
        n = _as_minutes(groups[0], groups[1]) if len(groups) >= 2 else None
        if n:
            return Bound(name, min=float(n)), [m.span()]
    if m := QUICK.search(text):
        return Bound(name, max=30.0), [m.span()]
    return None


def _age(text: str, name: str) -> tuple[Bound, list[tuple[int, int]]] | None:
    for m in [*AGE_EN.finditer(text), *AGE_ZH.finditer(text)]:
        n = _number(next(g for g in m.groups() if g))
        if n is not None and 2 <= n <= 21:
            return Bound(name, max=float(n)), [m.span()]
    return None


def _scale(text: str, spec: FacetSpec) -> tuple[Bound, list[tuple[int, int]]] | None:
    """A number on a scale whose ends the sidecar names ("1 light .. 5 heavy"): "not too heavy" and "light" keep
    to the lower part, "heavy" to the upper."""
    low, high = _scale_ends(spec.scale)
    if low is None or high is None:
        return None
    if m := NOT_HIGH.search(text):  # "not too heavy": up to the middle's lower edge
        return Bound(spec.name, max=round(low + 0.375 * (high - low), 2)), [m.span()]
    if m := LOW.search(text):  # "light", "lighter": the lower quarter
        return Bound(spec.name, max=round(low + 0.25 * (high - low), 2)), [m.span()]
    if m := MEDIUM_HIGH.search(text):  # "medium-heavy", "meaty": from a little above the middle
        return Bound(spec.name, min=round(low + 0.45 * (high - low), 2)), [m.span()]
    if m := HIGH.search(text):
        return Bound(spec.name, min=round(low + 0.625 * (high - low), 2)), [m.span()]
    return None


def _scale_ends(scale: str) -> tuple[float | None, float | None]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", scale)]
    return (min(numbers), max(numbers)) if len(numbers) >= 2 else (None, None)


def _values(text: str, spec: FacetSpec) -> tuple[Bound, list[tuple[int, int]]] | None:
    """Values of a list or string facet named in the text, in English (the value or one of its `aliases`) or
    through the sidecar's Chinese."""
    lowered = text.lower().replace("-", " ")  # "engine-building" names "engine building"
    found: list[str] = []
    aliases = dict(spec.aliases)
    for value, zh in spec.zh:  # a Chinese name may list alternatives: "虚张声势/吹牛"
        stems = {value, *(value[: -len(end)] for end in ("ing", "s") if value.endswith(end) and len(value) > 5)}
        stems |= set(aliases.get(value, ()))
        english = any(
            re.search(rf"(?<![\w-]){re.escape(v.replace('-', ' '))}(?:s|ing)?(?![\w-])", lowered) for v in stems
        )
        if english or any(name and name in text for name in zh.split("/")):
            found.append(value)
    return (Bound(spec.name, any=tuple(found)), []) if found else None


LIGHTER_THAN = re.compile(
    r"\b(?:lighter|simpler|easier|less (?:heavy|complex))\b|比.{0,20}?(?:更)?(?:轻|简单)|轻一点|轻点|简单一点|简单点",
    re.I,
)
HEAVIER_THAN = re.compile(r"\b(?:heavier|more complex|deeper|meatier)\b|比.{0,20}?(?:更)?(?:重|复杂|烧脑)", re.I)
SHORTER_THAN = re.compile(r"\b(?:shorter|quicker|faster)\b|比.{0,20}?(?:更)?(?:短|快)|短一点|短点|快一点", re.I)
LONGER_THAN = re.compile(r"\b(?:longer)\b|比.{0,20}?(?:更)?长", re.I)


def compared_with(text: str, specs: Mapping[str, FacetSpec], anchor: Mapping[str, object]) -> list[Bound]:
    """Bounds relative to a named item's facets ("lighter than Gloomhaven", "shorter than Twilight Imperium",
    "比它轻一点"): `anchor` is that item's facets by name."""
    out: list[Bound] = []
    for spec in specs.values():
        value = anchor.get(spec.name)
        if not isinstance(value, float):
            continue
        unit = (spec.unit or spec.name).lower()
        if spec.scale and LIGHTER_THAN.search(text):
            out.append(Bound(spec.name, max=round(value - 0.3, 2)))
        elif spec.scale and HEAVIER_THAN.search(text):
            out.append(Bound(spec.name, min=round(value + 0.3, 2)))
        elif unit.startswith("min") and SHORTER_THAN.search(text):
            out.append(Bound(spec.name, max=value - 1))
        elif unit.startswith("min") and LONGER_THAN.search(text):
            out.append(Bound(spec.name, min=value + 1))
    return out


def tighter(bound: Bound, other: Bound | None) -> Bound:
    """The narrower of two bounds on one facet, side by side (`other` may be None)."""
    if other is None:
        return bound
    low = max((v for v in (bound.min, other.min) if v is not None), default=None)
    high = min((v for v in (bound.max, other.max) if v is not None), default=None)
    return Bound(bound.name, low, high, bound.includes if bound.includes is not None else other.includes, bound.any)
