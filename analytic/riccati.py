"""Gradient flow and online SGD of the quadratic network f(x) = x^T M x - Tr M, M = W^T W (SymPy).

* Risk and gradient by Wick/Isserlis on explicit small matrices:
      R = 1/2 E (f - f*)^2 = ||M - A||_F^2,   grad_W R = 4 W (M - A) = E[2 (f - f*) W (x x^T - I)].
* Riccati flow from the product rule: dW/dt = 4W(A - M)  =>  dM/dt = 4(AM + MA - 2M^2); with tau = 4t
      M(tau) = e^{A tau} M0 (I + 2K M0)^{-1} e^{A tau},  K(tau) = int_0^tau e^{2As} ds  (= tau on ker A),
  and N = M^{-1} solves the linear dN/dtau = -AN - NA + 2I.
* One direction with overlap a = <theta, M0 theta> and complement mass sigma0^2 (a single neuron
  w = (sqrt(a), sigma0) in span(theta, theta_perp), from the closed form):
      M_jj(t) = lam a e^{8 lam t} / (lam (1 + 8 sigma0^2 t) + a (e^{8 lam t} - 1)),
  which for sigma0 = 0 is the logistic solution of dM/dt = 8(lam M - M^2). The learning time
  (M_jj = lam/2) solves e^{8 lam t} = lam (1 + 8 sigma0^2 t)/a - 1 (Lambert W, branch -1), i.e.
      t_j = ell_j / (8 lam_j),  ell_j = ln(lam_j / a_j - 1) + ln(1 + 8 sigma0^2 t_j).
  Adopted initial overlap (width m, W0 iid N(0, sigma0^2/d), directions learned in order): once
  directions 1..j-1 are learned, (I + 2K M0)^{-1} projects w_j = W0 theta_j in R^m onto the complement
  of span(w_1..w_{j-1}) (``residual_overlap``), so a_j = E||P w_j||^2 = (m - j + 1) sigma0^2 / d,
  and the complement Gram W0 P_ker W0^T ~ sigma0^2 (d - r)/d I_m ~ sigma0^2 I_m (r << d, m << d).
* Online SGD, batch B, step eta: second-order expansion of E[Delta R] in trace form (Wick through the
  joint cumulants of Gaussian quadratic forms, kappa(x^T A_1 x, ..., x^T A_k x) = 2^{k-1} sum over
  orderings of Tr(A_1 A_s2 ... A_sk)), and from it the noise inflation and stability limit
  (``sgd_stability``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import permutations, product

import mpmath
import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from .design import gaussian_expectation, symmetric_matrix

t, tau, s = sp.symbols("t tau s", nonnegative=True)
lam, a, sigma0, eta, batch, d, Delta = sp.symbols("lam a sigma0 eta B d Delta", positive=True)


# --- risk, gradient, flow --------------------------------------------------------------------------------------


def _weights(width: int, dim: int) -> sp.Matrix:
    return sp.Matrix(width, dim, lambda k, i: sp.Symbol(f"w_{k}{i}", real=True))


@dataclass(frozen=True)
class RiskDerivation:
    """Wick results for W (width x dim) and symmetric A: risk, its W-gradient, the mean SGD gradient."""

    W: sp.Matrix
    A: sp.Matrix
    risk: sp.Expr  # 1/2 E (f - f*)^2
    gradient: sp.Matrix  # d risk / dW
    mean_stochastic_gradient: sp.Matrix  # E[2 (f - f*) W (x x^T - I)]


@cache
def population_risk(dim: int = 2, width: int = 2) -> RiskDerivation:
    """R = 1/2 E (x^T (M - A) x - Tr(M - A))^2 and its gradients, by Isserlis on every monomial."""
    xs = sp.symbols(f"x0:{dim}", real=True)
    x = sp.Matrix(xs)
    W, A = _weights(width, dim), symmetric_matrix("A", dim)
    D = W.T * W - A
    err = sp.expand((x.T * D * x)[0] - D.trace())
    risk = gaussian_expectation(err**2, xs) / 2
    gradient = W.applyfunc(lambda w: sp.expand(sp.diff(risk, w)))
    X = x * x.T - sp.eye(dim)
    sgd = (2 * err * W * X).applyfunc(lambda e: gaussian_expectation(e, xs))
    return RiskDerivation(W, A, sp.expand(risk), gradient, sgd)


def riccati_from_product_rule(dim: int = 2, width: int = 2) -> sp.Matrix:
    """dM/dt for M = W^T W when dW/dt = 4W(A - M), by the product rule (entries polynomial in W, A)."""
    W, A = _weights(width, dim), symmetric_matrix("A", dim)
    Wt = W.applyfunc(lambda w: sp.Function(w.name)(t))
    flow = 4 * W * (A - W.T * W)
    dM = (Wt.T * Wt).diff(t)
    subs = {sp.Derivative(Wt[k, i], t): flow[k, i] for k in range(width) for i in range(dim)}
    return dM.subs(subs).subs({Wt[k, i]: W[k, i] for k in range(width) for i in range(dim)}).applyfunc(sp.expand)


def riccati_rhs(M: sp.Matrix, A: sp.Matrix) -> sp.Matrix:
    """4(AM + MA - 2M^2), the right-hand side of the flow of M in time t."""
    return 4 * (A * M + M * A - 2 * M * M)


def kernel_integral(A: sp.Matrix) -> sp.Matrix:
    """K(tau) = int_0^tau e^{2As} ds for diagonal A (SymPy's integral gives tau where an entry of A is 0)."""
    return (2 * A * s).exp().applyfunc(lambda e: sp.integrate(e, (s, 0, tau)))


def closed_form(A: sp.Matrix, M0: sp.Matrix) -> sp.Matrix:
    """M(tau) = e^{A tau} M0 (I + 2K M0)^{-1} e^{A tau} (tau = 4t), A diagonal."""
    E = (A * tau).exp()
    K = kernel_integral(A)
    return E * M0 * (sp.eye(A.rows) + 2 * K * M0).inv() * E


def closed_form_residual(A: sp.Matrix, M0: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(numerators of dM/dtau - (AM + MA - 2M^2), M(0) - M0) for the closed form: zero when it solves the flow.
    e^{a_i tau} is replaced by a symbol E_i (chain rule dE_i/dtau = a_i E_i), making M rational in (E, tau)."""
    M = closed_form(A, M0)
    rates = sorted({A[k, k] for k in range(A.rows)} - {0}, key=sp.default_sort_key)
    E = sp.symbols(f"E0:{len(rates)}", positive=True)
    M_E = M.subs({sp.exp(r * tau): e for r, e in zip(rates, E)})
    dM = M_E.diff(tau) + sum((M_E.diff(e) * r * e for r, e in zip(rates, E)), sp.zeros(*M.shape))
    residual = (dM - riccati_rhs(M_E, A) / 4).applyfunc(lambda x: sp.expand(sp.fraction(sp.together(x))[0]))
    return residual, (M.subs(tau, 0) - M0).applyfunc(sp.simplify)


def inverse_flow_residual(A: sp.Matrix, M0: sp.Matrix) -> sp.Matrix:
    """dN/dtau + AN + NA - 2I for N = e^{-A tau}(M0^{-1} + 2K)e^{-A tau}, the inverse of the closed form."""
    E = (-A * tau).exp()
    N = E * (M0.inv() + 2 * kernel_integral(A)) * E
    return (N.diff(tau) + A * N + N * A - 2 * sp.eye(A.rows)).applyfunc(sp.simplify)


# --- one direction: logistic curve and learning time ---------------------------------------------------------


@cache
def logistic() -> sp.Expr:
    """M(t) solving dM/dt = 8(lam M - M^2), M(0) = a (dsolve)."""
    M = sp.Function("M")
    sol = sp.dsolve(sp.Eq(M(t).diff(t), 8 * (lam * M(t) - M(t) ** 2)), M(t), ics={M(0): a})
    return sp.simplify(sol.rhs)


@cache
def learning_curve() -> sp.Expr:
    """M_jj(t) from the closed form for one neuron w = (sqrt(a), sigma0) with A = diag(lam, 0)."""
    w = sp.Matrix([[sp.sqrt(a), sigma0]])
    A = sp.diag(lam, 0)
    E, K = (A * tau).exp(), kernel_integral(A)
    S = sp.eye(1) + 2 * w * K * w.T  # W(tau) = S^{-1/2} W0 e^{A tau}
    M = E * w.T * S.inv() * w * E
    return sp.factor(sp.simplify(M[0, 0].subs(tau, 4 * t)))


def learning_time(lam_value=lam, a_value=a, sigma0_value=sigma0) -> sp.Expr:
    """t_j with M_jj(t_j) = lam/2 on ``learning_curve``: ln(lam/a - 1)/(8 lam) for sigma0 = 0, else the
    root of e^{8 lam t} = p + q t on the Lambert-W branch -1 (the root beyond the initial transient)."""
    u_half = _half_crossing()
    if sp.sympify(sigma0_value).is_zero:
        expr = sp.log(u_half.subs(sigma0, 0)) / (8 * lam)
    else:
        p, q = sp.symbols("p q", positive=True)
        (root,) = sp.solve(sp.Eq(sp.exp(8 * lam * t), p + q * t), t)
        root = root.subs({p: u_half.subs(t, 0), q: sp.expand(u_half).coeff(t)})
        expr = root.replace(sp.LambertW, lambda z: sp.LambertW(z, -1))
    return expr.subs({lam: lam_value, a: a_value, sigma0: sigma0_value}, simultaneous=True)


def learning_time_value(lam_value: float, a_value: float, sigma0_value: float = 0.0, dps: int = 30) -> float:
    """Float t_j from ``learning_time`` (mpmath); raises if the direction is never learned (a >= lam/2
    starts learned, and the Lambert argument must lie in [-1/e, 0))."""
    if not 0 < a_value < lam_value / 2:
        raise ValueError(f"need 0 < a < lam/2 for a learning time, got a={a_value}, lam={lam_value}")
    expr = learning_time(sp.Float(lam_value, dps), sp.Float(a_value, dps), sp.Float(sigma0_value, dps))
    with mpmath.workdps(dps):
        value = complex(sp.N(expr, dps))
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        raise ArithmeticError(f"learning time is not real: {value}")
    return value.real


def _half_crossing() -> sp.Expr:
    """e^{8 lam t_j} at M_jj(t_j) = lam/2: linear in e^{8 lam t}, so solved exactly (= lam (1 + 8 sigma0^2 t)/a - 1)."""
    u = sp.Symbol("u", positive=True)
    (u_half,) = sp.solve(sp.Eq(learning_curve().subs(sp.exp(8 * lam * t), u), lam / 2), u)
    return u_half


def log_factor(lam_value=lam, a_value=a, sigma0_value=sigma0, t_value=t) -> sp.Expr:
    """ell_j = 8 lam t_j to leading order in a/lam: ln(lam/a) + ln(1 + 8 sigma0^2 t_j) (t = t_j, implicit)."""
    leading = sp.limit(_half_crossing() * a, a, 0) / a
    ell = sp.expand_log(sp.log(sp.factor(leading)), force=True)
    return ell.subs({lam: lam_value, a: a_value, sigma0: sigma0_value, t: t_value}, simultaneous=True)


def residual_overlap(width: int) -> tuple[sp.Expr, sp.Expr]:
    """(lim_{K->oo} w_2^T (c I + 2K w_1 w_1^T)^{-1} w_2 * c, ||P w_2||^2) for generic w_1, w_2 in R^width,
    P the projector off w_1: learning direction 1 leaves direction 2 the overlap of its projection."""
    w1 = sp.Matrix(sp.symbols(f"u0:{width}", real=True))
    w2 = sp.Matrix(sp.symbols(f"v0:{width}", real=True))
    K, c = sp.symbols("K c", positive=True)
    S = c * sp.eye(width) + 2 * K * w1 * w1.T
    limit = sp.limit(sp.simplify((w2.T * S.inv() * w2)[0] * c), K, sp.oo)
    P = sp.eye(width) - w1 * w1.T / (w1.T * w1)[0]
    return sp.simplify(limit), sp.simplify((w2.T * P * w2)[0])


def initial_overlap(j, width, dim, sigma0_value=sigma0) -> sp.Expr:
    """a_j = E||P w_j||^2 = rank(P) sigma0^2/dim with rank(P) = width - j + 1 (P off the j - 1 learned
    w's, w_j iid N(0, sigma0^2/dim) in R^width): the overlap adopted for direction j."""
    return (width - j + 1) * sigma0_value**2 / dim


# --- online SGD: Gaussian expectations in trace form ----------------------------------------------------------
# Matrices are single letters (symmetric: D = M - A, M, A), words are their products; "X" = x x^T - I.
# A quadratic form x^T W x is the symbol q[W]; a trace Tr W the symbol Tr[W] (canonical under rotation and
# reversal, which is valid for products of symmetric matrices), Tr of the empty word = d.

TRACE_A, LAM_1 = sp.symbols("TrA lam_1", positive=True)
xi = sp.Symbol("xi", real=True)  # label noise, E xi = 0, E xi^2 = Delta, independent of x


def _canonical(word: str) -> str:
    word = word.replace("I", "")
    turns = [word[k:] + word[:k] for k in range(len(word))] or [""]
    return min(turns + [w[::-1] for w in turns])


def trace(word: str) -> sp.Expr:
    word = _canonical(word)
    return d if word == "" else sp.Symbol(f"Tr[{word}]")


def form(word: str) -> sp.Symbol:
    """x^T W x; only its symmetric part matters, so W and its reverse give the same symbol."""
    word = word.replace("I", "")
    return sp.Symbol(f"q[{min(word, word[::-1])}]")


def trace_with_x(word: str) -> sp.Expr:
    """Tr of a word containing X = x x^T - I, as a polynomial in forms and traces: every X is expanded,
    and Tr(P_1 x x^T P_2 x x^T ... P_k x x^T) = prod_i x^T P_{i+1} x (cyclically)."""
    out = sp.Integer(0)
    slots = [k for k, c in enumerate(word) if c == "X"]
    for choice in product((True, False), repeat=len(slots)):
        letters, sign = list(word), 1
        for k, outer in zip(slots, choice):
            letters[k] = "|" if outer else "I"
            sign *= 1 if outer else -1
        w = "".join(letters)
        if "|" not in w:
            out += sign * trace(w)
            continue
        first = w.index("|")
        rotated = w[first + 1:] + w[:first]  # starts after a marker, ends just before it
        out += sign * sp.Mul(*[form(seg) for seg in rotated.split("|")])
    return sp.expand(out)


def _sym_word_products(words) -> list[tuple[sp.Rational, str]]:
    """Tr(sym(W_1) ... sym(W_k)) as a list of (coefficient, concatenated word), sym(W) = (W + W^T)/2."""
    out = []
    for flips in product((False, True), repeat=len(words)):
        out.append((sp.Rational(1, 2 ** len(words)), "".join(w[::-1] if f else w for w, f in zip(words, flips))))
    return out


def _cumulant(words) -> sp.Expr:
    """Joint cumulant of x^T W_i x: Tr sym(W) for one, 2^{k-1} sum_{orderings of W_2..W_k} Tr(W_1 W_s ...)."""
    if len(words) == 1:
        return trace(words[0])
    total = sp.Integer(0)
    for order in permutations(words[1:]):
        total += sum(c * trace(w) for c, w in _sym_word_products((words[0],) + order))
    return 2 ** (len(words) - 1) * total


def form_moment(words) -> sp.Expr:
    """E prod_i x^T W_i x = sum over set partitions of prod of joint cumulants (x ~ N(0, I_d))."""
    words = tuple(words)
    if not words:
        return sp.Integer(1)
    total = sp.Integer(0)
    for partition in multiset_partitions(list(range(len(words)))):
        total += sp.Mul(*[_cumulant(tuple(words[k] for k in block)) for block in partition])
    return sp.expand(total)


def expectation(poly: sp.Expr) -> sp.Expr:
    """E over x ~ N(0, I_d) and the label noise xi of a polynomial in forms q[W], traces and xi."""
    out = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(poly)):
        coeff, words = sp.Integer(1), []
        for factor, power in term.as_powers_dict().items():
            if isinstance(factor, sp.Symbol) and factor.name.startswith("q["):
                words += [factor.name[2:-1]] * int(power)
            elif factor == xi:
                coeff *= 0 if power % 2 else sp.factorial2(power - 1) * Delta ** (power // 2)
            else:
                coeff *= factor**power
        out += coeff * form_moment(words)
    return sp.expand(out)


def residual_form() -> sp.Expr:
    """f - y = x^T D x - Tr D - xi (D = M - A, y = f* + xi)."""
    return form("D") - trace("D") - xi


def first_order_drift() -> sp.Expr:
    """E[Delta R]/eta at O(eta): 2 Tr(D Delta M_1), Delta M_1 = -(W^T G + G^T W), W^T G = 2 e M X."""
    e = residual_form()
    return expectation(-2 * 2 * e * (trace_with_x("DMX") + trace_with_x("DXM")))


def second_order_single() -> sp.Expr:
    """E Q(G_1) for one sample, Q(G) = 2 Tr(D G^T G) + Tr((W^T G + G^T W)^2) the O(eta^2) part of
    R(W - eta G) - R(W) (from R(M + dM) = R + 2 Tr(D dM) + Tr(dM^2)), G_1 = 2 e W X, G^T G = 4 e^2 X M X."""
    e2 = residual_form() ** 2
    square = sum(trace_with_x(w) for w in ("MXMX", "MXXM", "XMMX", "XMXM"))  # Tr((MX + XM)^2)
    return expectation(8 * e2 * trace_with_x("DXMX") + 4 * e2 * square)


def second_order_mean() -> sp.Expr:
    """Q(E G) with E G = 4 W D: 32 Tr(D D M D) + 16 Tr((MD + DM)^2)."""
    return sp.expand(32 * trace("DDMD") + 16 * (2 * trace("MDMD") + 2 * trace("MDDM")))


def second_order(batch_size=batch) -> sp.Expr:
    """The eta^2 coefficient of E[Delta R] for a batch of B fresh samples: E Q(G_1)/B + (1 - 1/B) Q(E G)."""
    return sp.expand(second_order_single() / batch_size + (1 - 1 / batch_size) * second_order_mean())


def evaluate_traces(expr: sp.Expr, matrices: dict) -> sp.Expr:
    """Substitute Tr[word] by the trace of the product of the given explicit (SymPy) matrices, d by their size."""
    dim = next(iter(matrices.values())).rows
    subs = {d: dim}
    for sym in expr.free_symbols:
        if sym.name.startswith("Tr["):
            word = sym.name[3:-1]
            prod = sp.eye(dim)
            for c in word:
                prod = prod * matrices[c]
            subs[sym] = prod.trace()
    return sp.expand(expr.subs(subs))


@dataclass(frozen=True)
class SGDStability:
    """R_SGD = (R_flow + kappa_noise eta d TrA Delta / B) / (1 - kappa eta d TrA / B), valid for eta < eta_max."""

    kappa: sp.Expr  # divergence at eta d Tr A = B / kappa
    kappa_noise: sp.Expr  # label-noise floor kappa_noise eta d Tr A Delta / B
    excess_rate: sp.Expr  # decay rate of a learned direction's excess (per unit t)
    injection: sp.Expr  # per unit t, into R, from direction lam (leading in d)
    inflation: sp.Expr  # R_SGD / R_flow (Delta = 0)
    floor: sp.Expr  # R_SGD at R_flow = 0
    eta_max: sp.Expr  # min(noise limit, full-batch limit 1/(4 lam_1))
    second_order_leading: sp.Expr  # leading-d part of E Q(G_1) (trace form)
    notes: tuple

    def eta_max_value(self, dim: float, trace_a: float, lam1: float, batch_size: float | None = None) -> float:
        """eta_max at numbers (batch_size needed when the stability was derived for a symbolic B)."""
        values = {d: dim, TRACE_A: trace_a, LAM_1: lam1, batch: batch_size}
        return float(self.eta_max.subs({k: v for k, v in values.items() if v is not None}))


def full_batch_limit() -> sp.Expr:
    """Largest stable step of the full-batch map on a learned direction, m -> m (1 + 4 eta (lam - m))^2
    (w -> w + 4 eta w (lam - w^2)): |d m'/dm| < 1 at m = lam."""
    mm = sp.Symbol("m", positive=True)
    slope = sp.diff(mm * (1 + 4 * eta * (lam - mm)) ** 2, mm).subs(mm, lam)
    (edge,) = sp.solve(sp.Eq(slope, -1), eta)
    return edge


@cache
def sgd_stability(batch_size=batch) -> SGDStability:
    """Noise inflation and stability limit of online SGD from the O(eta), O(eta^2) drift of R.

    Leading order in d: the O(eta^2 d) term of E Q(G_1) is the noise a sample injects orthogonally to the
    learned neurons (|x|^2 ~ d); evaluated with learned directions saturated (M = A on the learned block,
    D = -A on the unlearned teacher block, orthogonal to M) it is 16 eta d R sum_j lam_j^2 / B per unit t,
    additive over learned directions. The excess this creates in direction j (a neuron w = (sqrt(lam), delta)
    with delta off the teacher) decays at the rate lim_{delta->0} 16 Tr(DMD)/||D||^2 = 8 lam_j of the O(eta)
    drift. Stationary excess 2 eta d R lam_j / B per direction, summed: kappa eta d Tr A_learned R / B.
    Dropped: O(eta^2) terms without a factor d (including Q(E G), which only matters for B >~ d, where the
    full-batch limit eta < 1/(4 lam_1) takes over), O(R^2) terms (delta delta^T blocks, and spare neurons
    in ker A whose norm grows at log-rate 8 eta d R/B and saturates at |w|^2 ~ eta d R/B: m'(eta d R/B)^2
    (1 + m'/d) in R for m' spare neurons -- quadratic in R but multiplied by m', important at finite d when
    m' eta d R/B is not small), and Tr A_learned < Tr A (used as Tr A)."""
    lam_j, u, R, dlt, dd = sp.symbols("lam_j u R delta dd", positive=True)
    TrA, lam1 = TRACE_A, LAM_1
    single = second_order_single()
    leading = sp.expand(sp.Poly(single, d).LC() * d ** sp.degree(single, d))
    # injection: two learned directions (lam_j, lam_2) and one unlearned teacher direction u; D . M = 0
    lam2 = sp.Symbol("lam_2", positive=True)
    blocks = {"M": sp.diag(lam_j, lam2, 0), "D": sp.diag(0, 0, -u)}
    per_step = evaluate_traces(leading.subs(d, dd), blocks).subs(dd, d)
    injection_all = sp.expand(eta * per_step.subs(u**2, R) / batch_size)  # per unit t; R = ||D||^2 = u^2
    injection = injection_all.coeff(lam2, 0)  # the lam_j part
    if sp.expand(injection_all - injection - injection.subs(lam_j, lam2)) != 0:
        raise ArithmeticError("noise injection is not additive over learned directions")
    # decay of a learned direction's excess from the O(eta) drift
    w = sp.Matrix([[sp.sqrt(lam_j), dlt]])
    M1, A1 = w.T * w, sp.diag(lam_j, 0)
    drift = evaluate_traces(first_order_drift().subs(Delta, 0), {"M": M1, "D": M1 - A1, "A": A1})
    excess = ((M1 - A1).T * (M1 - A1)).trace()
    rate = -sp.limit(drift / excess, dlt, 0)
    stationary = sp.expand(injection / rate)  # excess of direction j
    kappa = sp.simplify(stationary.subs(Delta, 0) / (eta * d * R * lam_j / batch_size))
    # self-consistency R = R_flow + sum_j stationary_j (sum_j lam_j -> Tr A)
    R_flow = sp.Symbol("R_flow", nonnegative=True)
    total = sp.expand(stationary * TrA / lam_j)
    (R_sgd,) = sp.solve(sp.Eq(R, R_flow + total), R)
    inflation = sp.simplify(R_sgd.subs(Delta, 0) / R_flow)
    floor = sp.simplify(R_sgd.subs(R_flow, 0))
    kappa_noise = sp.simplify(sp.diff(floor, eta).subs(eta, 0) / (d * TrA * Delta / batch_size))
    (noise_edge,) = sp.solve(sp.Eq(1 / inflation, 0), eta)
    eta_max = sp.Min(noise_edge, full_batch_limit().subs(lam, lam1))
    spec = "inside" if sp.Rational(5, 2) <= kappa <= 5 else "outside"
    notes = (
        (f"kappa = {kappa}: divergence at eta d Tr A = B/{kappa} at leading order in d with saturated learned "
        f"directions; the spec's 0.2-0.4 needs kappa in [2.5, 5]: {spec}"),
        f"label noise: R_SGD(R_flow = 0) = {floor}, i.e. kappa_noise = {kappa_noise}",
        ("B ~ d: the noise limit B/(kappa d Tr A) meets the full-batch limit 1/(4 lam_1) at B ~ kappa d Tr A/(4 lam_1); "
        "beyond it eta_max no longer grows with B"),
        ("spare neurons (in ker A) grow by the multiplicative noise at log-rate 8 eta d R/B and would saturate at "
        "|w|^2 ~ eta d R/B, adding ~ m'(eta d R/B)^2 (1 + m'/d) to R: O(R^2), not in kappa, but not small at finite "
        "d when m' eta d R/B is O(1)"),
    )
    return SGDStability(kappa, kappa_noise, rate, injection, inflation, floor, eta_max, leading, notes)
