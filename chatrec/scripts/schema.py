"""The scripted-dialogue file format as pydantic models, and the validated `Script` they make (see docs/scripts.md)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from annotated_types import Ge, MinLen
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chatrec.scripts.expectations import EXPECT_KEYS, FLAG_KEYS, INT_KEYS, LIST_KEYS, SOURCES

T = TypeVar("T")
PROBLEM = "script"  # the pydantic error type of every problem below: its message is the one the user reads


@dataclass(frozen=True)
class Say:
    """A message the user sends, and what must then be true (`expect`)."""

    text: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thumbs:
    """A thumbs up or down on a recommendation of the last turn, or on an item id."""

    item: int | str  # 1-based position in the last turn's recommendations, or an item id
    liked: bool


@dataclass(frozen=True)
class Script:
    """A validated dialogue file."""

    path: Path
    turns: tuple[Say | Thumbs, ...]
    name: str = ""
    catalog: Path | None = None
    category: str = ""  # what the dialogue tests (benchmarks/dialogues/README.md)

    def uses(self, keys: Iterable[str]) -> bool:
        """Whether a turn checks one of `keys`."""
        return any(isinstance(t, Say) and t.expect.get(k) for t in self.turns for k in keys)


class Invalid(ValueError):
    """What is wrong with a script file: in one turn (`index`, 0-based) or in the file as a whole (None)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


# -- values, each type carrying the message that says what is wrong with it ---------------------------------------


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError(PROBLEM, "{message}", {"message": message})


def _says(message: Callable[[Any], str]) -> WrapValidator:
    """Whatever pydantic finds wrong with a value is reported as `message(value)`."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise _problem(message(value)) from None

    return WrapValidator(validate)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("blank")
    return text


def _not_at_most_zero(number: float) -> float:
    if number <= 0:  # not `> 0`: NaN has always passed
        raise ValueError("not positive")
    return number


class FacetExpect(BaseModel):
    """The bounds of one facet in `expect: {facets: {NAME: ...}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None
    includes: float | None = None
    any: Annotated[list[str], MinLen(1)] | None = None


Text = Annotated[str, Strict(), AfterValidator(_not_blank)]  # a string with more than white space
Position = Annotated[int, Strict(), Ge(1)]  # a 1-based position in the last turn's recommendations
Seconds = Annotated[Annotated[int, Strict()] | Annotated[float, Strict()], AfterValidator(_not_at_most_zero)]
_GROUPS: tuple[tuple[tuple[str, ...], Any, str], ...] = (
    (INT_KEYS, Annotated[int, Strict(), Ge(0)], "`{key}` must be a whole number from 0, got {value!r}"),
    (
        LIST_KEYS,
        Annotated[list[Text], Strict(), MinLen(1)],
        "`{key}` must be a non-empty list of strings, e.g. [{example}], got {value!r}",
    ),
    (FLAG_KEYS, Annotated[bool, Strict()], "`{key}` must be true or false, got {value!r}"),
    (("language",), Text, "`language` must be a language code such as en or zh, got {value!r}"),
    (("source",), Literal[SOURCES], f"`source` must be one of {', '.join(SOURCES)}, got {{value!r}}"),
    (("max_seconds",), Seconds, "`max_seconds` must be a positive number, got {value!r}"),
    (
        ("facets",),
        Annotated[dict[str, FacetExpect], MinLen(1)],
        "`facets` must map facet names to bounds such as {{min: 1, max: 4, includes: 2, any: [dice]}}, got {value!r}",
    ),
)


def _expect_type(key: str) -> Any:
    """The type of expect key `key`'s value (anything, for a key no group names), with its message."""
    rule = next(((kind, message) for keys, kind, message in _GROUPS if key in keys), None)
    if rule is None:
        return Any
    kind, message = rule
    return Annotated[kind, _says(lambda v: message.format(key=key, example=key.split("_")[0], value=v))]


# -- mappings ------------------------------------------------------------------------------------------------------


class _Mapping(BaseModel):
    """A mapping whose keys must all be known: each subclass's fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    what: ClassVar[str]  # what its keys are called in a message: "unknown {what} 'x' (known: ...)"
    not_a_mapping: ClassVar[str]

    @classmethod
    def known(cls) -> tuple[str, ...]:
        """Its keys, in the order a message lists them."""
        return tuple(cls.model_fields)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _problem(cls.not_a_mapping)
        unknown = [str(k) for k in data if k not in cls.known()]
        if unknown:
            raise _problem(f"unknown {cls.what} {', '.join(map(repr, unknown))} (known: {', '.join(cls.known())})")
        return data


class _ExpectBase(_Mapping):
    """What must be true after a `say` turn: a field for each of EXPECT_KEYS (see `Expect`)."""

    what: ClassVar[str] = "expect key"
    not_a_mapping: ClassVar[str] = "`expect` must be a mapping"

    @model_validator(mode="after")
    def _at_least_counts_genres_any(self) -> Self:
        if "at_least" in self.model_fields_set and "genres_any" not in self.model_fields_set:
            raise _problem("`at_least` counts `genres_any` matches; give `genres_any` too")
        return self


_EXPECT_FIELDS: dict[str, Any] = {key: (_expect_type(key), None) for key in EXPECT_KEYS}  # each optional
Expect = create_model("Expect", __base__=_ExpectBase, **_EXPECT_FIELDS)


def _expectations(raw: Any) -> Any:
    """`raw` as written (an empty one checks nothing), once `Expect` finds nothing wrong with it: the problem of
    the key that comes first in the file."""
    raw = raw or {}
    try:
        Expect.model_validate(raw)
    except ValidationError as exc:
        order = {key: n for n, key in enumerate(raw)}
        first = min(exc.errors(), key=lambda e: order.get(e["loc"][0], -1) if e["loc"] else -1)
        raise _problem(first["msg"]) from None
    return raw


class Feedback(BaseModel):
    """The value of `feedback`: {item: N or ID, liked: true/false}. Validate it with context `said_before`: whether
    a `say` turn came before it (a position needs one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    liked: Annotated[bool, Strict(), _says(lambda v: f"feedback `liked` must be true or false, got {v!r}")]
    item: Annotated[
        Position | Annotated[str, Strict()],
        _says(lambda v: f"feedback `item` must be a position from 1 or an item id, got {v!r}"),
    ]

    @model_validator(mode="before")
    @classmethod
    def _item_and_liked(cls, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) != {"item", "liked"}:
            raise _problem("`feedback` must be {item: N or ID, liked: true/false}")
        return data

    @model_validator(mode="after")
    def _position_after_a_say(self, info: ValidationInfo) -> Self:
        if isinstance(self.item, int) and not (info.context or {}).get("said_before"):
            raise _problem(f"feedback on item {self.item} before any `say` turn showed recommendations")
        return self


_A_TURN = "a turn is a mapping with either `say` or `feedback`"


class SayTurn(_Mapping):
    """`say: TEXT` with an optional `expect: {...}`."""

    what: ClassVar[str] = "turn key"
    not_a_mapping: ClassVar[str] = _A_TURN
    say: Annotated[Text, _says(lambda _: "`say` must be a non-empty string")]
    expect: Annotated[dict[str, Any], BeforeValidator(_expectations)] = Field(default_factory=dict)

    def step(self) -> Say:
        return Say(self.say, self.expect)


class FeedbackTurn(_Mapping):
    """`feedback: {item: N or ID, liked: BOOL}`."""

    what: ClassVar[str] = "turn key"
    not_a_mapping: ClassVar[str] = _A_TURN
    feedback: Feedback

    def step(self) -> Thumbs:
        return Thumbs(self.feedback.item, self.feedback.liked)


def _turn_kind(raw: Any) -> str | None:
    if isinstance(raw, dict) and ("say" in raw) != ("feedback" in raw):
        return "say" if "say" in raw else "feedback"
    return None


Turn = Annotated[
    Annotated[SayTurn, Tag("say")] | Annotated[FeedbackTurn, Tag("feedback")],
    Discriminator(_turn_kind, custom_error_type=PROBLEM, custom_error_message=_A_TURN),
]
_TURN: TypeAdapter[SayTurn | FeedbackTurn] = TypeAdapter(Turn)


class ScriptFile(_Mapping):
    """The top level of a file. Its fields are in the order they are checked; each of its `turns` is a `Turn`,
    validated on its own (`parse_script`), so that a problem names its turn."""

    what: ClassVar[str] = "top-level key"
    not_a_mapping: ClassVar[str] = "the file must be a mapping with a `turns` list"
    turns: Annotated[list[Any], Strict(), MinLen(1), _says(lambda _: "`turns` must be a non-empty list")] = Field(
        default=None, validate_default=True
    )
    name: Annotated[str, Strict(), _says(lambda _: "`name` must be a string")] = ""
    category: Annotated[str, Strict(), _says(lambda _: "`category` must be a string")] = ""
    catalog: Annotated[Text | None, _says(lambda _: "`catalog` must be a path")] = None

    @classmethod
    def known(cls) -> tuple[str, ...]:
        return ("name", "category", "catalog", "turns")


# -- the script ----------------------------------------------------------------------------------------------------


def parse_script(path: Path, data: Any, find_catalog: bool = True) -> Script:
    """The script in `data` (the YAML of `path`); `Invalid` with the first problem found, and its turn. Without
    `find_catalog` a `catalog` that is not there is no problem."""
    top = _valid(lambda: ScriptFile.model_validate(data))
    turns = tuple(_turn(i, raw, _has_say(top.turns[:i])) for i, raw in enumerate(top.turns))
    found = (_catalog_path(path, top.catalog) if find_catalog else Path(top.catalog)) if top.catalog else None
    return Script(path, turns, top.name, found, top.category)


def _valid(validate: Callable[[], T], index: int | None = None) -> T:
    """What `validate()` returns; its first problem as `Invalid` (of turn `index`)."""
    try:
        return validate()
    except ValidationError as exc:
        raise Invalid(exc.errors()[0]["msg"], index) from None


def _turn(index: int, raw: Any, said_before: bool) -> Say | Thumbs:
    return _valid(lambda: _TURN.validate_python(raw, context={"said_before": said_before}), index).step()


def _has_say(turns: list[Any]) -> bool:
    return any(isinstance(t, dict) and "say" in t for t in turns)


def _catalog_path(script: Path, catalog: str) -> Path:
    given = Path(catalog).expanduser()
    found = given if given.is_absolute() else next((p for p in (script.parent / given, given) if p.exists()), None)
    if found is None or not found.exists():
        raise Invalid(f"catalog {catalog} not found (looked in {script.parent} and in the working folder)")
    return found
