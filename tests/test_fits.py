"""Local-slope exponent fits."""

import json
import math

import numpy as np
import pytest

from numeric.fits import SlopeFit, local_slope

XS = np.geomspace(1e3, 1e8, 6)


@pytest.mark.parametrize("exponent", [-1.0, -0.75, 0.5, 2.0])
def test_exact_power_law_gives_its_exponent_everywhere(exponent):
    fit = local_slope(XS, 3.7 * XS**exponent)
    # log of a power law is linear in log x: only rounding (~1e-15 per log) remains
    assert fit.exponent == pytest.approx(exponent, abs=1e-12)
    np.testing.assert_allclose(fit.exponents, exponent, atol=1e-12)
    assert fit.trend == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("exponent,power", [(-1.0, 1.0), (-0.5, -2.0), (1.0, 0.5)])
def test_log_power_removes_the_log_factor(exponent, power):
    values = XS**exponent * np.log(XS) ** power
    assert local_slope(XS, values, log_power=power).exponent == pytest.approx(exponent, abs=1e-12)
    # without it the last local slope is e + p (log log x2 - log log x1)/(log x2 - log x1)
    lx = np.log(XS[-2:])
    shifted = exponent + power * (math.log(lx[1]) - math.log(lx[0])) / (lx[1] - lx[0])
    assert local_slope(XS, values).exponent == pytest.approx(shifted, abs=1e-12)


def test_trend_is_the_change_of_the_last_local_slope():
    # log y = e ln x + k (ln x)^2: the slope between x1 < x2 is e + k (ln x1 + ln x2), so the last
    # two slopes of a grid with ratio q differ by 2 k ln q
    k, xs = 0.01, np.geomspace(1e2, 1e12, 6)  # q = 100
    values = xs**-1.0 * np.exp(k * np.log(xs) ** 2)
    assert local_slope(xs, values).trend == pytest.approx(2 * k * math.log(100.0), rel=1e-10)


def test_two_points_have_no_trend():
    fit = local_slope([10.0, 100.0], [1.0, 0.1])
    assert fit.exponent == pytest.approx(-1.0) and math.isnan(fit.trend)


def test_to_dict_round_trips_through_json():
    fit = local_slope(XS, XS**-0.5, log_power=0.0)
    back = json.loads(json.dumps(fit.to_dict()))
    assert SlopeFit(**{k: tuple(v) if isinstance(v, list) else v for k, v in back.items()}) == fit


@pytest.mark.parametrize(
    "xs,values,kwargs",
    [
        ([10.0], [1.0], {}),
        ([10.0, 5.0], [1.0, 2.0], {}),
        ([10.0, 100.0], [1.0, -2.0], {}),
        ([10.0, 100.0], [1.0, math.nan], {}),
        ([0.5, 100.0], [1.0, 2.0], {"log_power": 1.0}),
    ],
)
def test_invalid_input_raises(xs, values, kwargs):
    with pytest.raises(ValueError):
        local_slope(xs, values, **kwargs)
