"""Users' expressions are parsed, never run (crosscheck.expressions), and a claim needs a region."""

import pytest
import sympy as sp

from crosscheck.claims import check_claim
from crosscheck.expressions import parse_expression

x, y = sp.symbols("x y", positive=True)


def test_expressions_over_the_allowed_names():
    assert parse_expression(" x^2 * log(y) / sqrt(x) ", "rate", {"x": x, "y": y}) == x ** sp.Rational(3, 2) * sp.log(y)
    assert parse_expression("1000 * x**(-1/2)", "rate", {"x": x}) == 1000 / sp.sqrt(x)


@pytest.mark.parametrize("text, reason", [
    ('__import__("os").system("exit 3")', "unknown name '__import__'"),
    ("x.__class__", r"'\.' is not allowed"),
    ("x[0]", r"'\[' is not allowed"),
    ("'x'", "is not allowed"),
    ("z", "unknown name 'z'"),
    ("  ", "empty"),
])
def test_anything_else_is_refused_before_evaluation(text, reason, monkeypatch):
    def never(*_, **__):
        raise AssertionError("sympify must not see this text")

    monkeypatch.setattr(sp, "sympify", never)
    with pytest.raises(ValueError, match=reason):
        parse_expression(text, "rate", {"x": x})


@pytest.mark.parametrize("where, reason", [("", "no condition"), (",,", "no condition"),
                                           ("1 << 2", "selects no region")])
def test_a_claim_needs_a_region(where, reason):
    with pytest.raises(ValueError, match=reason):
        check_claim("n**(-1)", where, gamma=1.5, noise=0.5)
