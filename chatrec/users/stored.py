"""A user's `InterestState` as it is stored: JSON, with its vectors as base64 float32, read back leniently (fields
an older version did not have take their defaults; vectors of another dimension are dropped, the lists kept)."""

from __future__ import annotations

import base64
import json
from dataclasses import fields
from typing import Any

import numpy as np

from chatrec.users.interests import InterestState

VECTOR_FIELDS = ("short", "long")


def _encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()


def state_to_json(state: InterestState) -> str:
    data: dict[str, Any] = {
        f.name: getattr(state, f.name) for f in fields(state) if f.name not in (*VECTOR_FIELDS, "negatives")
    }
    for name in VECTOR_FIELDS:
        data[name] = _encode_vector(getattr(state, name))
    data["negatives"] = [_encode_vector(v) for v in state.negatives]
    return json.dumps(data, ensure_ascii=False)


def state_from_json(text: str, dim: int) -> InterestState:
    """The saved state; vectors of another dimension (a different embedder) are dropped, the lists kept."""
    data = json.loads(text)
    vectors = {name: _decode_vector(data.pop(name)) for name in VECTOR_FIELDS}
    negatives = [_decode_vector(v) for v in data.pop("negatives", [])]
    known = {f.name for f in fields(InterestState)}
    state = InterestState(**{k: v for k, v in data.items() if k in known and k != "dim"}, dim=dim)
    if all(len(v) == dim for v in [*vectors.values(), *negatives]):
        state.short, state.long, state.negatives = vectors["short"], vectors["long"], negatives
    return state
