"""Users' expressions (the rates and conditions of claims) parsed into SymPy without running them as code.

sympify evaluates its text as Python, so the text is tokenised first and must consist of numbers, the arithmetic
operators + - * / ** (^), parentheses and the allowed names (the claim's symbols and log, sqrt, exp): no attribute
access, strings, subscripts or other calls can reach the evaluation.
"""

from __future__ import annotations

import io
import tokenize

import sympy as sp

FUNCTIONS = {"log": sp.log, "sqrt": sp.sqrt, "exp": sp.exp}
_OPERATORS = {"+", "-", "*", "/", "**", "(", ")"}
_LAYOUT = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}


def parse_expression(text: str, what: str, symbols: dict) -> sp.Expr:
    """The SymPy expression of ``text`` over ``symbols`` (name -> Symbol) and FUNCTIONS; a one-line ValueError naming
    ``what`` for anything else."""
    names = {**symbols, **FUNCTIONS}
    source = text.strip().replace("^", "**")
    if not source:
        raise ValueError(f"{what} is empty")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ValueError(f"cannot parse {what} {text!r}: {exc.args[0]}") from None
    for token in tokens:
        if token.type in _LAYOUT or token.type == tokenize.NUMBER or (
                token.type == tokenize.OP and token.string in _OPERATORS):
            continue
        if token.type == tokenize.NAME and token.string in names:
            continue
        allowed = ", ".join(names)
        if token.type == tokenize.NAME:
            raise ValueError(f"unknown name {token.string!r} in {what} {text!r} (allowed: {allowed})")
        raise ValueError(f"{token.string!r} is not allowed in {what} {text!r} (numbers, + - * / ^, parentheses and "
                         f"{allowed} only)")
    try:
        expr = sp.sympify(source, locals=names)
    except (sp.SympifyError, SyntaxError, TypeError, ValueError, ZeroDivisionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"cannot parse {what} {text!r}: {reason}") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"{what} {text!r} must be one expression")
    return expr
