"""The `Generator` contract (chatrec/ports.py), run on every implementation: the scripted double, the packaged
Qwen2.5 model through llama.cpp (the CPU default) and the packaged SmolLM2 through transformers (the GPU default)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from chatrec import Settings
from chatrec.errors import GeneratorBusy
from chatrec.generators.loading import load_generator
from chatrec.generators.scripted import ScriptedGenerator
from chatrec.ports import Generator, Limits

PROMPT = [
    {"role": "system", "content": "You write one short sentence about a film."},
    {"role": "user", "content": "Say something about a space film."},
]
OPENING = "Interstellar (2014) is"
WORDS = [" a", " film", " about", " astronauts", " who", " travel", " through", " a", " wormhole", "."] * 4


@pytest.fixture(
    scope="module",
    params=[
        "scripted",
        pytest.param("llama.cpp", marks=pytest.mark.generation),
        pytest.param("transformers", marks=pytest.mark.generation),
    ],
)
def generator(request: pytest.FixtureRequest) -> Iterator[Generator]:
    if request.param == "scripted":
        yield ScriptedGenerator([WORDS] * 100)
        return
    if request.param == "llama.cpp":
        pytest.importorskip("llama_cpp")
    model = "qwen2.5-0.5b" if request.param == "llama.cpp" else "smollm2-135m"
    made = load_generator(
        model, Settings().model_cache, threads=0 if request.param == "llama.cpp" else 1, backend=request.param
    )
    assert made is not None
    yield made


def test_it_names_itself_and_warms_without_harm(generator: Generator) -> None:
    assert generator.id and generator.languages and isinstance(generator.device, str)
    generator.warm(PROMPT)
    generator.warm([])  # nothing to read ahead


def test_the_given_opening_comes_first_and_the_text_is_bounded(generator: Generator) -> None:
    pieces = list(generator.stream(PROMPT, Limits(max_new_tokens=6, budget_s=60, wait_s=60), prefix=OPENING))
    assert pieces[0] == OPENING and len(pieces) <= 1 + 6 and "".join(pieces[1:]).strip()


def test_a_set_stop_ends_the_stream(generator: Generator) -> None:
    stop = threading.Event()
    stream = generator.stream(PROMPT, Limits(max_new_tokens=40, budget_s=60, wait_s=60), stop=stop)
    first = next(stream)
    stop.set()
    rest = list(stream)
    assert first and len(rest) <= 1  # at most the piece already on its way


def test_a_caller_that_cannot_start_in_time_is_told_busy_before_any_text(generator: Generator) -> None:
    holding = generator.stream(PROMPT, Limits(max_new_tokens=40, budget_s=60, wait_s=60), prefix=OPENING)
    assert next(holding) == OPENING  # this caller now holds the model
    try:
        waiting = generator.stream(PROMPT, Limits(max_new_tokens=5, budget_s=5, wait_s=0.2))
        with pytest.raises(GeneratorBusy):
            next(waiting)
    finally:
        holding.close()
    after = list(itertools.islice(generator.stream(PROMPT, Limits(max_new_tokens=3, budget_s=60, wait_s=5)), 3))
    assert after, "the model is free again once the first caller let go"
