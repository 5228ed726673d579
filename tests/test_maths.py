"""Pure maths: interest updates, scoring terms, MMR and metrics, checked on small arrays with known answers."""

import numpy as np
import pytest

from chatrec.offline.metrics import hits_at_k, recall_at_k, reciprocal_rank
from chatrec.ranking.scoring import mmr, negative_penalty
from chatrec.ranking.signals import log_counts
from chatrec.users.interests import InterestState, add_terms, blend, decay, drift, normalise, pull, push, reject

E = np.eye(4, dtype=np.float32)


def test_decay_halves_after_one_half_life() -> None:
    assert decay(0, 10) == 1.0
    assert decay(10, 10) == pytest.approx(0.5)
    assert decay(30, 10) == pytest.approx(0.125)
    assert decay(-5, 10) == 1.0  # clocks going backwards do not amplify


def test_pull_moves_toward_target_and_stays_unit() -> None:
    v = pull(E[0], E[1], rate=0.5)
    assert np.linalg.norm(v) == pytest.approx(1.0)
    assert v @ E[1] > 0 and v @ E[0] > 0
    assert np.allclose(pull(np.zeros(4, np.float32), E[2], 0.1), E[2])  # cold start takes the signal
    faded = pull(E[0], E[1], rate=0.5, keep=0.1)
    assert faded @ E[1] > v @ E[1]  # old interest that has faded resists less


def test_push_removes_the_rejected_direction() -> None:
    v = normalise(E[0] + E[1])
    moved = push(v, E[1], rate=1.0)
    assert moved @ E[1] == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(push(np.zeros(4, np.float32), E[1], 1.0), 0)


def test_blend_and_drift() -> None:
    assert np.allclose(blend(E[0], np.zeros(4, np.float32), 0.3), E[0])
    q = blend(E[0], E[1], 0.25)
    assert q @ E[0] > q @ E[1] > 0
    assert drift(E[0], E[0]) == pytest.approx(0.0)
    assert drift(E[0], E[1]) == pytest.approx(1.0)


def test_reject_records_a_negative_and_caps_their_number() -> None:
    s = InterestState(dim=4, short=normalise(E[0] + E[1]), long=E[0].copy())
    for _ in range(5):
        reject(s, E[1], rate=0.5, max_negatives=3)
    assert len(s.negatives) == 3
    assert s.short @ E[1] < s.short @ E[0]


def test_terms_fade_and_grow() -> None:
    terms = add_terms({}, ["space"])
    terms = add_terms(terms, ["space", "horror"])
    assert terms["space"] > terms["horror"]


def test_scoring_terms() -> None:
    v = np.vstack([E[0], E[1], normalise(E[0] + E[1])])
    pen = negative_penalty(E[1][None, :], v, floor=0.35)
    assert pen[0] == 0 and pen[1] == pytest.approx(1.0) and 0 < pen[2] < 1
    assert np.allclose(negative_penalty(np.zeros((0, 4)), v), 0)
    prior = log_counts(np.array([0.0, 9.0, np.nan, 99.0]))
    assert prior[3] == pytest.approx(1.0) and prior[0] == 0 and prior[2] == 0 and 0 < prior[1] < 1


def test_mmr_skips_near_duplicates() -> None:
    twin = normalise(E[0] + 0.01 * E[1])
    v = np.vstack([E[0], twin, E[2]])
    scores = np.array([1.0, 0.99, 0.8])
    assert mmr(scores, v, 2, lam=1.0) == [0, 1]  # pure relevance keeps the twin
    assert mmr(scores, v, 2, lam=0.5) == [0, 2]  # diversity prefers the different item
    assert mmr(scores, v, 10, lam=0.5) == [0, 2, 1]


def test_metrics_against_hand_computed_values() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, ["b", "z"], 1) == 0.0
    assert recall_at_k(ranked, ["b", "z"], 2) == 0.5
    assert recall_at_k(ranked, [], 2) == 0.0
    assert hits_at_k(ranked, ["a", "d"], 4) == 2
    assert reciprocal_rank(ranked, "c") == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, "z") == 0.0


def test_ndcg_and_coverage_by_hand() -> None:
    from chatrec.offline.metrics import coverage_at_k, ndcg_at_k

    ranked = ["a", "b", "c", "d"]
    # one gold item at rank 2: gain 1/log2(3) = 0.6309, best 1/log2(2) = 1
    assert ndcg_at_k(ranked, ["b"], 10) == pytest.approx(0.63093, abs=1e-5)
    # gold at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3)) = 1.5 / 1.63093
    assert ndcg_at_k(ranked, ["a", "c"], 10) == pytest.approx(1.5 / 1.63093, abs=1e-5)
    assert ndcg_at_k(ranked, ["c"], 2) == 0.0 and ndcg_at_k(ranked, [], 3) == 0.0
    assert ndcg_at_k(ranked, ["a"], 1) == 1.0
    assert coverage_at_k([["a", "b"], ["b", "c"]], 10, 2) == 0.3
    assert coverage_at_k([["a", "b"], ["b", "c"]], 10, 1) == 0.2 and coverage_at_k([], 0, 5) == 0.0
