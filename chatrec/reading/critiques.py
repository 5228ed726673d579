"""Critiques and constraints in a message: "like X but funnier", "from the 90s", "after 2010", "in Chinese", "for kids".

Pure readers over the message text; `understanding` calls them and `terms`/`order` act on what they find. A critique
moves the query along an attribute direction (a short description embedded like any text) and may imply genres; a
constraint filters the candidates by the catalog's own fields (year, language) or by genres unsuitable for children.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Attribute:
    """What one critique word asks for: a direction in the embedding space, and genres it implies."""

    direction: str  # embedded; added to the query (or subtracted when `sign` is -1)
    sign: int = 1
    genres: tuple[str, ...] = ()  # asked for with it ("funnier" -> comedy)
    soft_avoid: tuple[str, ...] = ()  # turned away from with it ("lighter" -> horror)


ATTRIBUTES: dict[str, Attribute] = {
    "funnier": Attribute("a funny, light-hearted comedy full of jokes and laughs", genres=("comedy",)),
    "lighter": Attribute(
        "a light, warm, gentle and cheerful feel-good story", soft_avoid=("horror", "thriller", "crime", "war")
    ),
    "darker": Attribute("a dark, grim, bleak and disturbing story", soft_avoid=("family", "animation", "children")),
    "scarier": Attribute("a frightening, terrifying horror story", genres=("horror",)),
    "less violent": Attribute(
        "a violent, bloody and brutal story full of killing", sign=-1, soft_avoid=("horror", "war", "crime")
    ),
    "more romantic": Attribute("a romantic love story", genres=("romance",)),
    "shorter": Attribute("a short, quick, brief and light read or watch"),
}
RELATIVE = ("older", "newer")  # compared with the year of the title the message names

_EN = {
    "funnier": r"\bfunnier\b|\bmore (?:funny|humou?r|comedy|laughs?)\b|\bless serious\b",
    "lighter": r"\blighter\b|\blight[- ]?hearted\b|\bless (?:dark|heavy|intense|depressing|scary|grim)\b|"
    r"\bfeel[- ]good\b|"
    r"\b(?:not|nothing) (?:too |so |that |very |overly )?(?:dark|intense|depressing|scary|grim|bleak|disturbing)\b",
    "darker": r"\bdarker\b|\bgrittier\b|\bmore (?:dark|serious|intense)\b",
    "scarier": r"\bscarier\b|\bmore (?:scary|frightening|terrifying)\b",
    "less violent": r"\bless (?:violent|violence|gory|gore|bloody)\b|\bnot (?:so|as|too) violent\b|\bwithout (?:the |all the )?violence\b",  # noqa: E501
    "more romantic": r"\bmore romantic\b|\bmore romance\b",
    "shorter": r"\bshorter\b",
    "older": r"\bolder\b",
    "newer": r"\bnewer\b|\bmore recent\b",
}
_ZH = {
    "funnier": r"更搞笑|更好笑|更幽默|更有趣|越好笑|越搞笑|好笑一点|搞笑一点",
    "lighter": r"轻松|不那么沉重|温馨|不要太(?:黑暗|压抑|沉重|吓人|恐怖)|别太(?:黑暗|压抑|沉重|吓人|恐怖)",
    "darker": r"更黑暗|更暗黑|更沉重|更压抑",
    "scarier": r"更吓人|更恐怖",
    "less violent": r"不那么暴力|没那么暴力|少点暴力|不要太暴力|别太暴力",
    "more romantic": r"更浪漫",
    "shorter": r"更短",
    "older": r"更老|更早|老一点|比.{1,30}?(?:更)?(?:老|早)",
    "newer": r"更新的|新一点|新一些|更近的|近几年|近些年|比.{1,30}?(?:更)?(?:新|晚|近)",
}
CRITIQUE_PATTERNS = {name: re.compile(f"{_EN[name]}|{_ZH[name]}", re.IGNORECASE) for name in _EN}

AFTER = re.compile(
    r"\b(?:after|since|newer than|later than)\s+((?:19|20)\d{2})\b|((?:19|20)\d{2})\s*年?\s*(?:以后|之后|后)"
    r"|\b(?P<on>(?:19|20)\d{2})\s*(?:onwards?|\+|and (?:later|after|newer|up))",
    re.I,
)
BEFORE = re.compile(
    r"\b(?:before|older than|earlier than|prior to)\s+((?:19|20)\d{2})\b|((?:19|20)\d{2})\s*年?\s*(?:以前|之前|前)",
    re.I,
)
SHORT_DECADE_ZH = re.compile(r"(?<!\d)([5-9]0)\s*年代")
ZH_TENS = {"五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
ZH_DECADE = re.compile(r"([五六七八九])十年代")  # "八十年代" is "80年代"
_DECADE = r"(?:19([5-9])0|20([0-2])0|['’]?([5-9])0)['’]?s\b"
_ZH_DECADE = r"(?:19([5-9])0|20([0-2])0)\s*年代"
DECADE_BEFORE = re.compile(rf"{_ZH_DECADE}\s*(?:以前|之前|前)|\bbefore the\s+{_DECADE}", re.I)
DECADE_ON = re.compile(  # the decade and later: "90年代以后", "from the 90s on", "80s onwards"
    rf"{_ZH_DECADE}\s*(?:以后|之后|后|以来|起)|\bsince the\s+{_DECADE}|\bfrom the\s+{_DECADE}\s+on(?:wards?)?\b"
    rf"|\b{_DECADE}\s+(?:onwards?|and (?:later|after|newer|up))\b",
    re.I,
)
DECADES = re.compile(rf"\b{_DECADE}\s*(?:or|and|to|-|–)\s*(?:the\s+)?{_DECADE}", re.I)  # "70s or 80s"
DECADE_AFTER = re.compile(rf"\bafter the\s+{_DECADE}", re.I)  # "after the 90s": from 2000
YEAR_RANGE = re.compile(
    r"\b(?:between|from)\s+((?:19|20)\d{2})\s*(?:and|to|until|till|-|–)\s*((?:19|20)\d{2})\b"
    r"|((?:19|20)\d{2})\s*年?\s*(?:-|–|~|到|至)\s*((?:19|20)\d{2})",
    re.I,
)
THIS_CENTURY = re.compile(r"\bthis century\b|\b21st[- ]century\b|本世纪|21世纪|二十一世纪", re.I)
FROM_DECADE = re.compile(
    r"\b(?:from|in|of) the\s+(?:19([5-9])0|20([0-2])0|['’]?([5-9])0)['’]?s\b|(?:19([5-9])0|20([0-2])0)\s*年代", re.I
)

LANGUAGES = {
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "english": "en",
    "japanese": "ja",
    "french": "fr",
    "korean": "ko",
    "spanish": "es",
    "german": "de",
    "italian": "it",
    "russian": "ru",
    "swedish": "sv",
    "hindi": "hi",
    "portuguese": "pt",
    "danish": "da",
}
_LANG_WORDS = "|".join(LANGUAGES)
IN_LANGUAGE = re.compile(
    rf"\bin ({_LANG_WORDS})\b|\b({_LANG_WORDS})(?:[- ]language)?\s+(?:films?|movies?|cinema|books?|novels?|literature|"
    r"series|shows?|dramas?|stories|comedies|thrillers)\b",
    re.I,
)
ZH_LANGUAGES = (
    ("华语", "zh"),
    ("国产", "zh"),
    ("中文", "zh"),
    ("中国", "zh"),
    ("港片", "zh"),
    ("香港", "zh"),
    ("日本", "ja"),
    ("日语", "ja"),
    ("韩国", "ko"),
    ("韩语", "ko"),
    ("法国", "fr"),
    ("法语", "fr"),
    ("英语", "en"),
    ("英文", "en"),
)

FAMILY = re.compile(
    r"\bwhole family\b|\bfamily[- ]friendly\b|"
    r"\bfamily (?:movies?|films?|night|comed(?:y|ies)|shows?|series|books?|fun)\b|"
    r"\bfor (?:the |my )?(?:kids|children|family|little ones|son|daughter)\b|"
    r"\bkid[- ]friendly\b|\bwith (?:my |the )?kids\b|"
    r"\bmy \d{1,2}[- ]?(?:year[- ]old|yo)\b|\b(?:the )?kids (?:too|as well)\b|"
    r"全家|一家人|合家欢|亲子|适合孩子|给孩子|和孩子|带孩子|陪孩子|小朋友|儿童|孩子们(?:一起|看|能看|爱看|喜欢)|"
    r"孩子(?:也|们)?(?:一起看|也能看|能看)",
    re.I,
)
NOT_FOR_FAMILIES = ("horror", "crime", "thriller", "noir")  # never in a family pick


def find_critiques(text: str) -> tuple[str, ...]:
    """The critique words of a message, in `ATTRIBUTES` / `RELATIVE` names ("like X but lighter" -> ('lighter',))."""
    return tuple(name for name, pattern in CRITIQUE_PATTERNS.items() if pattern.search(text))


def _five(groups: tuple[str | None, ...], zh: bool = True) -> tuple[str | None, ...]:
    """The groups of the alternative of a decade pattern that matched, as `_decade` takes them: a Chinese decade
    is the first pair (19x0, 20x0) when the pattern has one (`zh`), each English one a triple (19x0, 20x0, 'x0)."""
    if zh and any(groups[:2]):
        return (groups[0], groups[1], None, None, None)
    for start in range(2 if zh else 0, len(groups), 3):
        if any(groups[start : start + 3]):
            return (*groups[start : start + 3], None, None)
    return (None,) * 5


def _decade(groups: tuple[str | None, ...]) -> int:
    a, b, c, d, e = groups
    if a or d:
        return 1900 + 10 * int(a or d or 0)
    if b or e:
        return 2000 + 10 * int(b or e or 0)
    return 1900 + 10 * int(c or 0)


def find_years(text: str) -> tuple[int | None, int | None]:
    """(earliest, latest) year the message allows: "after 2010" -> (2011, None), "from the 90s" -> (1990, 1999)."""
    low = high = None
    text = ZH_DECADE.sub(lambda m: f"{ZH_TENS[m.group(1)]}0年代", text)
    text = SHORT_DECADE_ZH.sub(lambda m: f"19{m.group(1)}年代", text)  # "80年代" is the 1980s
    if m := YEAR_RANGE.search(text):
        first, last = sorted(int(y) for y in m.groups() if y)
        return first, last
    if m := DECADES.search(text):
        first, last = _decade(_five(m.groups()[:3], zh=False)), _decade(_five(m.groups()[3:], zh=False))
        return min(first, last), max(first, last) + 9
    if m := DECADE_BEFORE.search(text):
        return None, _decade(_five(m.groups())) - 1
    if m := DECADE_ON.search(text):
        return _decade(_five(m.groups())), None
    if m := DECADE_AFTER.search(text):
        return _decade(_five(m.groups(), zh=False)) + 10, None
    if m := AFTER.search(text):
        year = int(m.group(1) or m.group(2) or m.group("on"))
        low = year if re.match(r"since", m.group(0), re.I) or m.group("on") else year + 1
    if m := BEFORE.search(text):
        high = int(m.group(1) or m.group(2)) - 1
    if THIS_CENTURY.search(text):
        low = max(low or 2000, 2000)
    if m := FROM_DECADE.search(text):
        start = _decade(m.groups())
        low, high = max(low or start, start), min(high or start + 9, start + 9)
    return low, high


def find_item_language(text: str) -> str | None:
    """The language of the items asked for ("in Chinese", "Japanese films", "华语电影"), as an ISO 639-1 code."""
    if m := IN_LANGUAGE.search(text):
        return LANGUAGES[(m.group(1) or m.group(2)).lower()]
    return next((code for word, code in ZH_LANGUAGES if word in text), None)


def wants_family(text: str) -> bool:
    """The message asks for something the whole family or children can enjoy."""
    return bool(FAMILY.search(text))
