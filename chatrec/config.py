"""Settings: one frozen dataclass, validated on creation; the only place that reads environment variables and the
command-line options that become settings."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from chatrec.errors import ConfigError

N = TypeVar("N", int, float)

EMBEDDERS = ("both", "minilm", "use")
PRECISIONS = ("auto", "fp32", "bf16")  # MiniLM's arithmetic (backends/embedders.py)
CATALOG_FORMATS = ("auto", "jsonl", "csv", "redial")
GENERATOR_BACKENDS = ("auto", "llama.cpp", "transformers")
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
PROFILE_SCHEMES = ("sqlite:///", "memory:", "postgresql://")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_path(name: str) -> Path | None:
    raw = _env(name)
    return Path(raw) if raw else None


def _env_list(name: str) -> tuple[str, ...]:
    """A comma-separated variable as a tuple of its non-empty items."""
    return tuple(part.strip() for part in (_env(name) or "").split(",") if part.strip())


def _env_number(name: str, default: N, kind: Callable[[str], N], what: str) -> N:
    raw = _env(name)
    try:
        return kind(raw) if raw is not None else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def _env_threads(name: str) -> int:
    """A thread count, or 'auto' (0: chosen by load)."""
    raw = _env(name)
    return 0 if raw is None or raw.strip().lower() == "auto" else _env_int(name, 0)


def _env_flag(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.strip().lower() in FALSE:
        return False
    if raw.strip().lower() in TRUE:
        return True
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where the web app listens: the command line's --host/--port, else GRADIO_SERVER_NAME/GRADIO_SERVER_PORT,
    else the older CHATREC_HOST/CHATREC_PORT, else 127.0.0.1:7860."""
    host = host or _env("GRADIO_SERVER_NAME") or _env("CHATREC_HOST") or DEFAULT_HOST
    if port is None:
        name = "GRADIO_SERVER_PORT" if _env("GRADIO_SERVER_PORT") else "CHATREC_PORT"
        port = _env_int(name, DEFAULT_PORT)
        where = name
    else:
        where = "--port"
    if not host.strip():
        raise ConfigError("the host must not be empty")
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where} must be a port number from 1 to 65535, got {port}")
    return host, port


@dataclass(frozen=True)
class Settings:
    """Everything that can be tuned; defaults are the embedded, single-machine setup."""

    data_dir: Path = field(default_factory=lambda: Path(_env("CHATREC_DATA_DIR", ".chatrec") or ".chatrec"))
    catalog: Path | None = field(default_factory=lambda: _env_path("CHATREC_CATALOG"))  # None: the bundled knowledge/
    catalog_format: str = "auto"
    skip_bad: bool = False  # load the good rows of a catalog with bad ones
    # a data folder remembers its catalog (catalog/remembered.py); loading another one replaces its items only if set
    replace_catalog: bool = field(default_factory=lambda: _env_flag("CHATREC_REPLACE_CATALOG"))
    chroma_url: str | None = field(default_factory=lambda: _env("CHATREC_CHROMA_URL"))
    # False: this process never writes the store (one of several app workers); `chatrec ingest` is the one writer
    ingest_on_start: bool = field(default_factory=lambda: _env_flag("CHATREC_INGEST_ON_START", True))
    # the profile database: sqlite:///PATH (None: profiles.sqlite in the data folder) or memory: (nothing kept)
    profiles_url: str | None = field(default_factory=lambda: _env("CHATREC_PROFILES_URL"))
    # events (messages, items shown, thumbs) older than this are deleted; 0 keeps them for good
    events_retention_days: float = field(default_factory=lambda: _env_float("CHATREC_EVENTS_RETENTION_DAYS", 180.0))
    collection: str = "items"
    embedder: str = "both"  # MiniLM + USE concatenated (see README, "Embeddings")
    threads: int = field(
        default_factory=lambda: _env_int("CHATREC_THREADS", 1)
    )  # 2 threads on a busy 2-core box: ~10x slower
    # MiniLM's arithmetic: auto is bfloat16 where the CPU has it natively (about twice as fast, cosine 0.9999+ to fp32)
    precision: str = field(default_factory=lambda: _env("CHATREC_PRECISION", "auto") or "auto")
    generator: str = field(default_factory=lambda: _env("CHATREC_GENERATOR", "qwen2.5-0.5b") or "qwen2.5-0.5b")
    models_dir: Path | None = field(default_factory=lambda: _env_path("CHATREC_MODELS_DIR"))  # None: data_dir/models
    # 'auto': llama.cpp on the CPU (reads the GGUF as it is), transformers with accelerate on a GPU
    generator_backend: str = field(default_factory=lambda: _env("CHATREC_GENERATOR_BACKEND", "auto") or "auto")
    # a generator server (OpenAI-compatible /v1/completions: llama.cpp's, vLLM, SGLang) serving `generator` for every
    # app process (generators/remote.py); None: the model runs in this process
    generator_url: str | None = field(default_factory=lambda: _env("CHATREC_GENERATOR_URL"))
    # replies this process asks the generator server for at once; one more is busy at once (template) rather than
    # queued on the server: llama.cpp's server answers one at a time (1), vLLM and SGLang batch many (raise it)
    generator_slots: int = field(default_factory=lambda: _env_int("CHATREC_GENERATOR_SLOTS", 1))
    # 0 ("auto"): llama.cpp takes a second thread for a prompt only while the other cores are idle (docs/replies.md)
    generator_threads: int = field(default_factory=lambda: _env_threads("CHATREC_GENERATOR_THREADS"))
    # how messages are read (docs/dialogues.md, "Readers"): rules; model (the generator's JSON parse of genres and
    # mode); both (the model only where the rules found nothing to use)
    reader: str = field(default_factory=lambda: _env("CHATREC_READER", "rules") or "rules")
    max_new_tokens: int = 80  # two or three short sentences; the cards carry the details
    generation_budget_s: float = 8.0  # wall clock per reply; what is shown by then stays, the rest is cut
    generation_wait_s: float = 2.0  # a reply that cannot start this soon gets the template, marked busy
    k: int = 5  # recommendations per chat turn
    max_message_chars: int = 4000
    secret_key: str | None = field(
        default_factory=lambda: _env("CHATREC_SECRET_KEY"), repr=False
    )  # None: DATA_DIR/secret.key
    # the host site's shared secret for signed user ids (serve/identity.py, docs/widget.md); None: none accepted
    host_secret: str | None = field(default_factory=lambda: _env("CHATREC_HOST_SECRET"), repr=False)
    # the HTTP API (serve/api.py): browser origins allowed to call it (none: same origin only), chat turns a minute
    allowed_origins: tuple[str, ...] = field(default_factory=lambda: _env_list("CHATREC_ALLOWED_ORIGINS"))
    chat_per_minute: int = field(default_factory=lambda: _env_int("CHATREC_CHAT_PER_MINUTE", 30))  # per session
    # interest tracking
    half_life_long_s: float = 30 * 24 * 3600  # long-term taste fades over months
    long_rate: float = 0.15  # how far one ended conversation moves long-term taste
    negative_rate: float = 0.5
    mention_weight: float = 1.5  # a named item says more than the words around it
    max_negatives: int = 32
    long_weight: float = 0.35  # share of long-term taste (earlier conversations) in the query vector
    # chat's order (after the shared pipeline): diversity, and leaving out what the user has seen
    mmr_lambda: float = 0.85  # 1.0 = pure relevance, lower = more diverse
    exclude_known: bool = True  # never an item the user named as seen or liked (unless asked about)
    exclude_shown: bool = True  # no item shown before when the user asks for more or others
    keep_topic: bool = True  # chat keeps to the genres the conversation is about while enough items have them
    per_creator: int = 2  # chat shows at most this many items by one creator (unless asked for them); 0: no cap
    # the one ranking pipeline (chat, `Engine.rank`, offline evaluation): weights of the terms in ranking/signals.py,
    # tuned on the ReDial tuning part (README, "Evaluation"); the text term's weight is 1
    adapter: str = field(default_factory=lambda: _env("CHATREC_ADAPTER", "auto") or "auto")  # 'auto', 'none' or a path
    rank_candidates: int = 800  # Chroma top-N for a turn, joined with named, neighbour and popular items
    mention_recency: float = 0.7  # a mention one utterance older counts this much of the newer one
    # the dialogue named it (the seeker; the recommender): off, since both only hand back items already named, which
    # raises ReDial's all-pairs recall and nothing on its dedup view (docs/evaluation.md, "Shortcut terms")
    w_seeker: float = 0.0
    w_recommender: float = 0.0
    w_stated: float = 0.1  # it has a genre, person or decade the seeker asked for
    w_popularity: float = 0.2  # off in effect when the catalog has neither interactions nor popularity
    w_collaborative: float = 0.3  # off in effect without a fitted collaborative model
    w_people: float = 0.2  # it shares directors, writers or cast with the items the dialogue names
    w_known: float = 0.0  # the seeker named it without asking about it (they know it)
    w_shown: float = 0.0  # chatrec already recommended it in this conversation
    w_negative: float = 0.3  # it is close to a rejected item or a negated phrase
    w_avoided: float = 1.0  # it has a genre the user turned away from ("tired of horror")
    w_feedback: float = 0.3  # it is close to an item the user gave a thumbs up
    w_critique: float = 1.0  # how far "funnier", "darker", ... move the query
    w_critique_genre: float = 0.3  # it has the genre a critique implies ("funnier": comedy)
    topic_restart: bool = True  # a message asking for a new genre or kind starts the text afresh
    session_gap_s: float = 2 * 3600  # a pause this long starts a new conversation

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.catalog is not None:
            object.__setattr__(self, "catalog", Path(self.catalog))
        _check_choice("embedder", self.embedder, EMBEDDERS)
        _check_choice("precision", self.precision, PRECISIONS)
        if self.models_dir is not None:
            object.__setattr__(self, "models_dir", Path(self.models_dir))
        if not self.generator.strip():
            raise ConfigError("generator must be a packaged model name, a model folder, a .gguf file or 'none'")
        _check_choice("catalog_format", self.catalog_format, CATALOG_FORMATS)
        _check_choice("generator_backend", self.generator_backend, GENERATOR_BACKENDS)
        if self.generation_budget_s <= 0 or self.generation_wait_s < 0:
            raise ConfigError("generation_budget_s must be positive and generation_wait_s not negative")
        if self.reader not in ("rules", "model", "both"):
            raise ConfigError(f"reader must be rules, model or both, got {self.reader!r}")
        if self.generator_threads < 0:
            raise ConfigError(f"generator_threads must be 'auto' (0) or at least 1, got {self.generator_threads}")
        for name in (
            "threads",
            "generator_slots",
            "max_new_tokens",
            "k",
            "max_message_chars",
            "max_negatives",
            "rank_candidates",
            "chat_per_minute",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.per_creator < 0:
            raise ConfigError(f"per_creator must be 0 (no cap) or positive, got {self.per_creator}")
        if self.events_retention_days < 0:
            raise ConfigError(f"events_retention_days must be 0 (keep) or positive, got {self.events_retention_days}")
        if self.profiles_url is not None and not self.profiles_url.startswith(PROFILE_SCHEMES):
            raise ConfigError(f"profiles_url must start with {' or '.join(PROFILE_SCHEMES)}, got {self.profiles_url!r}")
        for name in ("half_life_long_s", "session_gap_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        for name in ("long_rate", "negative_rate", "long_weight", "mmr_lambda", "mention_recency"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must lie in [0, 1], got {getattr(self, name)}")

    @property
    def term_weights(self) -> dict[str, float]:
        """Weights of the ranking terms by name (see chatrec/ranking/signals.py)."""
        return {
            "text": 1.0,
            "seeker": self.w_seeker,
            "known": self.w_known,
            "recommender": self.w_recommender,
            "shown": self.w_shown,
            "stated": self.w_stated,
            "popularity": self.w_popularity,
            "collaborative": self.w_collaborative,
            "people": self.w_people,
            "negative": -self.w_negative,
            "avoided": -self.w_avoided,
            "feedback": self.w_feedback,
            "critique": self.w_critique_genre,
        }

    @property
    def collaborative_dir(self) -> Path:
        return self.data_dir / "collaborative"

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def profiles_location(self) -> str:
        """Where profiles live: `profiles_url`, else sqlite:/// of profiles.sqlite in the data folder."""
        return self.profiles_url or f"sqlite:///{self.data_dir / 'profiles.sqlite'}"


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def offline_environment() -> None:
    """Keep every hub client offline and every telemetry quiet; called before any model code runs."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# -- the command line's settings (`chatrec` and `python app.py`) ------------------------------------------
def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """Settings from the command line's options (those not given keep their environment or default values)."""
    values: dict[str, object] = dict(extra)
    if getattr(args, "data_dir", None):
        values["data_dir"] = args.data_dir
    if getattr(args, "catalog", None):
        values["catalog"] = args.catalog
    if getattr(args, "format", None):
        values["catalog_format"] = args.format
    if getattr(args, "skip_bad", False):
        values["skip_bad"] = True
    if getattr(args, "replace_catalog", False):
        values["replace_catalog"] = True
    if getattr(args, "generator", None):
        values["generator"] = args.generator
    if getattr(args, "precision", None):
        values["precision"] = args.precision
    return Settings(**values)  # type: ignore[arg-type]


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """The options of `chatrec serve`, which are also `python app.py`'s."""
    p.add_argument("--host", default=None, help="default: $GRADIO_SERVER_NAME, else 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: $GRADIO_SERVER_PORT, else 7860")
    p.add_argument("--data-dir", type=Path, default=None, help="default: $CHATREC_DATA_DIR or ./.chatrec")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="app processes on the port (more than 1 needs a Chroma server, CHATREC_CHROMA_URL; they never write "
        "the store: run `chatrec ingest` first)",
    )
    add_catalog_options(p)


def add_catalog_options(p: argparse.ArgumentParser) -> None:
    """--catalog, --format, --skip-bad and --replace-catalog, for the commands that load an engine."""
    p.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help="default: $CHATREC_CATALOG, else the data folder's own catalog, else the bundled one",
    )
    p.add_argument("--format", choices=CATALOG_FORMATS, default=None, help="default: by the file name")
    p.add_argument("--skip-bad", action="store_true", help="load the good rows even if some are bad")
    add_replace_option(p)


def add_replace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replace-catalog",
        action="store_true",
        help="allow a catalog other than the one the data folder was built from (its items are replaced)",
    )
