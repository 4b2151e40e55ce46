"""The tail cross-check (crosscheck.tails): verdicts on a few diagonal points at d = 1e4, and that it can fail."""

import math

import pytest

from crosscheck.tails import detection_limit, format_tails, tail_point, tails_figure

D = 10**4
GAMMA = 1.5


@pytest.fixture(scope="module")
def deep():
    """Variance-limited, n = d^5: every component above threshold and noise, the whole teacher law visible."""
    return tail_point("diagonal", 5.0, -2.2, gamma=GAMMA, noise=0.5, d=D)


def test_full_tail_agrees_in_exponent_and_extent(deep):
    assert deep["status"] == "agree" and deep["teacher_tail"]
    lo, hi = deep["fit"]["interval"]
    assert lo <= 1 + 1 / GAMMA <= hi
    # the measured range spans the teacher's top/smallest = d^gamma, i.e. gamma log10 d decades
    assert deep["fit"]["decades"] == pytest.approx(GAMMA * math.log10(D), abs=0.1)


def test_wrong_exponent_is_a_disagreement():
    bad = tail_point("diagonal", 5.0, -2.2, gamma=GAMMA, noise=0.5, d=D, exponent=2.0)
    assert bad["status"] == "disagree" and bad["reason"].endswith("exponent off")


def test_plateau_has_no_tail_and_agrees():
    p = tail_point("diagonal", 0.4, 2.2, gamma=GAMMA, noise=0.5, d=D)
    assert p["regime"] == "plateau" and p["predicted_decades"] < 0
    assert not p["found"] and p["status"] == "agree"


def test_points_near_the_detection_limit_are_flagged():
    p = tail_point("diagonal", 1.5, -2.2, gamma=GAMMA, noise=0.5, d=D)
    assert abs(p["predicted_decades"] - detection_limit(GAMMA)) < 1.0
    assert p["status"] == "flagged" and "detection limit" in p["reason"]


def test_table_and_figure(deep, tmp_path):
    result = {"model": "diagonal", "gamma": GAMMA, "d": D, "points": [deep],
              "tolerances": {"detection_limit": detection_limit(GAMMA), "detection_band": 1.0},
              "counts": {"agree": 1, "disagree": 0, "flagged": 0}, "passed": True, "seconds": 0.0}
    text = format_tails(result)
    assert "variance-limited" in text and "PASSED" in text
    files = tails_figure(result, tmp_path / "tails")
    assert sorted(p.rsplit(".", 1)[1] for p in files) == ["pdf", "png"]
