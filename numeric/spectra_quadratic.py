"""The learned spectrum of the quadratic network (eigenvalues of S_hat): the SE's prediction and trained networks.

Prediction (spec: shared/spec/quadratic.md, "Spectra (paper, Result 2)"). At the deterministic SE fixed point
(``se_matrix.quadratic_se``: sigma^2, zeta) S_hat = f(Y), f(x) = (x - zeta)_+ on the eigenvalues of
Y = S* + sigma W (W GOE, semicircle on [-2, 2]), in the units of S* itself (||S*||_F^2 = d, the normalisation of
``simulate_quadratic``): no rescaling between Y and S_hat. The PSD solution thresholds from above only: y <= zeta
-> 0, y > zeta -> y - zeta. With rho_Y = rho_{S*} boxplus semicircle(sigma^2) and P(x) = int_{y > x} rho_Y(y) dy
(``free_probability.FreeConvolution.threshold_integrals``, the same quadrature the SE uses), the law of the
eigenvalues v of S_hat is

    atom  = F(0) = 1 - P(zeta)            (= 1 - active_fraction of the SE),
    F(v)  = 1 - P(zeta + v),   v >= 0,
    f(v)  = rho_Y(zeta + v),   v > 0      (its integral is P(zeta)).

Isolated teacher eigenvalues (outliers, mass 1/d each) are not point masses here: ``threshold_integrals`` returns
the exact free-convolution bump of each one (a semicircle-like bump of radius ~2 q sigma/sqrt(d) around the point
eigenvalue x_j of free_probability's section 'residues'), so F is continuous for v > 0 and the KS/W1 code of the
diagonal network (``spectra.compare_spectra``) applies unchanged. A trained S_hat's outlier also fluctuates by
O(sigma/sqrt(d)) from seed to seed; the point-mass limit would put a jump of 1/d in F instead, a KS difference of
at most 1/d per outlier.

Cost: F costs one ``threshold_integrals`` call per point (~0.5-1.5 ms at d = 100); the comparison table
(``spectra._Table``, accurate to TABLE_TOL) a few thousand of them. ``sample`` inverts that table.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from .params import check_count, check_dimension, check_gamma, check_nonnegative, check_rank
from .postprocess_quadratic import se_convolution
from .se_matrix import QUADRATURE_TOL, MatrixSEResult, goe_observation, quadratic_se
from .simulate_quadratic import DESIGNS, METHODS, simulate_quadratic
from .spectra import NETWORK_ZERO_TOL, START_NODES, SpectrumLaw, _Table, check_points
from .teachers import quadratic_teacher_spectrum

# Default threshold below which an eigenvalue of a convex solve counts as an exact zero. The prox step returns
# exact zeros, but the solve stops at a fixed-point residual of 1e-12, where S_hat is within 4e-8 relative Frobenius
# distance of the minimiser at worst (convex_psd: d = 10, n = d^2/4; <= 6e-11 at d = 30..100), i.e. <= 4e-8 ||S||_F
# ~ 4e-7 absolute for ||S||_F <~ sqrt(d) = 10: 1e-6 sits above that, and a true positive eigenvalue below 1e-6 has
# probability ~ f(0+) 1e-6, negligible against the bands. (Trained networks: spectra.NETWORK_ZERO_TOL, 1e-4, as
# W^T W at gtol 1e-8 is within 3e-8 relative of the minimiser, train_quadratic.)
CONVEX_ZERO_TOL = 1e-6


class PredictedQuadraticSpectrum(SpectrumLaw):
    """Law of the eigenvalues of S_hat predicted by the quadratic SE (module docstring): atom at 0 plus a density.

    Attributes: d, n, lam, gamma, noise, rank, se (the MatrixSEResult), sigma2, zeta, atom, v_top (F(v_top) = 1:
    the top of rho_Y's support minus zeta), fc (the FreeConvolution of the SE's merged teacher spectrum at sigma2).
    """

    def __init__(self, d: int, n: float, lam: float, gamma: float, noise: float, rank: int | None, se: MatrixSEResult):
        self.d, self.n, self.lam, self.gamma, self.noise, self.rank, self.se = d, n, lam, gamma, noise, rank, se
        self.sigma2, self.zeta = float(se.sigma2), float(se.zeta)
        # the SE's own merged spectrum at the power of two just below sigma^2 (se_matrix._Deterministic.at); spikes
        # "exact": every support component (outlier bumps included) has quadrature nodes, so ``density`` sees them.
        self.fc = se_convolution(d, gamma, rank, self.sigma2)
        if not self.fc.mass_error <= QUADRATURE_TOL:
            raise ArithmeticError(f"the predicted spectrum's quadrature mass error {self.fc.mass_error:.3g} is above "
                                  f"{QUADRATURE_TOL:.3g}")
        self.v_top = max(hi for _, hi in self.fc.support) - self.zeta
        self.atom = float(self._cdf_y(self.zeta))
        order = np.argsort(self.fc.x)
        edges = np.array(self.fc.support).ravel()
        xs = np.concatenate([self.fc.x[order], edges])
        rho = np.concatenate([self.fc.density[order], np.zeros(edges.size)])
        keep = np.argsort(xs, kind="stable")
        self._rho_x, self._rho = xs[keep], rho[keep]
        self._table = None

    def _cdf_y(self, x: float) -> float:
        """F_Y(x) = 1 - int_{y > x} rho_Y(y) dy, clipped to [0, 1] (quadrature rounding ~1e-12)."""
        return min(1.0, max(0.0, 1.0 - self.fc.threshold_integrals(float(x))[0]))

    def cdf(self, v) -> np.ndarray:
        """F(v) = P(eigenvalue of S_hat <= v) = F_Y(zeta + v) for v >= 0 (atom at 0), 0 for v < 0, 1 for v >= v_top."""
        v = check_points("v", v)
        flat = v.ravel()
        out = np.array([0.0 if w < 0 else 1.0 if w >= self.v_top else self._cdf_y(self.zeta + w) for w in flat])
        return out.reshape(v.shape)

    def density(self, v) -> np.ndarray:
        """f(v) = rho_Y(zeta + v) for v > 0 (0 for v < 0): piecewise-linear in the SE quadrature's nodes (SE_NODES
        Gauss nodes per piece) with rho_Y = 0 at the support edges; its integral is 1 - atom to the accuracy the
        tests measure (the interpolation, not the law, is the error)."""
        v = check_points("v", v)
        out = np.interp(self.zeta + v, self._rho_x, self._rho, left=0.0, right=0.0)
        return np.where(v > 0, out, 0.0)

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` iid draws by inverting the comparison table's piecewise-linear F_lin (|F_lin - F| <= its
        ``error``, i.e. ~TABLE_TOL): U uniform, 0 if U <= atom, else F_lin^{-1}(U)."""
        size = check_count("size", size, 1)
        is_generator = isinstance(rng, np.random.Generator)
        if not is_generator:
            raise ValueError(f"rng must be a numpy Generator (got {type(rng).__name__})")
        table = self.table()
        u = rng.random(size)
        # F_lin is non-decreasing; interp on its values (ties: flat pieces carry no probability) inverts it
        values, first = np.unique(table.values, return_index=True)
        out = np.interp(u, values, table.nodes[first])
        out[u <= self.atom] = 0.0
        return out

    def stratified(self, rng: np.random.Generator) -> np.ndarray:
        """One finite-d SE draw of the d eigenvalues: (mu_i - zeta)_+, mu = eig(diag(s) + sigma W), W GOE with
        W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d) (rotation invariance lets S* be diagonal)."""
        s = quadratic_teacher_spectrum(self.d, self.gamma, self.rank)
        with threadpool_limits(limits=1, user_api="blas"):
            mu = np.linalg.eigvalsh(goe_observation(s, self.sigma2, rng.standard_normal((self.d, self.d))))
        return np.maximum(mu - self.zeta, 0.0)

    def table(self) -> _Table:
        """The node grid of ``compare_spectra`` (built once): start nodes a uniform grid on [0, v_top], the support
        edges and the outliers' point eigenvalues (minus zeta), refined by ``spectra._Table.build``."""
        if self._table is None:
            marks = np.concatenate([np.array(self.fc.support).ravel(), self.fc.x[np.isnan(self.fc.density)]])
            marks = marks - self.zeta
            start = np.concatenate([np.linspace(0.0, self.v_top, START_NODES), marks[(marks > 0) & (marks < self.v_top)]])
            self._table = _Table.build(self.cdf, start)
        return self._table

    def to_dict(self) -> dict:
        return {
            "d": self.d, "n": float(self.n), "lam": float(self.lam), "gamma": float(self.gamma),
            "noise": float(self.noise), "rank": self.rank, "sigma2": self.sigma2, "zeta": self.zeta,
            "atom": self.atom, "v_top": self.v_top, "median": float(self.quantile(0.5)), "se": self.se.to_dict(),
        }


def predicted_spectrum_quadratic(d, n, lam, gamma, noise, *, rank=None) -> PredictedQuadraticSpectrum:
    """The SE's law of the eigenvalues of S_hat (module docstring) at the deterministic fixed point of ``quadratic_se``."""
    d = check_dimension(d)
    n, lam = check_nonnegative("n", n), check_nonnegative("lam", lam)
    rank = check_rank(rank, d)
    gamma, noise = check_gamma(gamma, rank), check_nonnegative("noise", noise)
    if n == 0:
        raise ValueError("n must be > 0 (n = 0: S_hat = 0, the spectrum is the atom at 0)")
    se = quadratic_se(d, n, lam, gamma, noise, rank=rank)
    if not se.converged:
        raise ValueError(f"the quadratic SE did not converge: {se.message}")
    if not se.sigma2 < math.inf or se.recovered:
        raise ValueError(f"the SE fixed point has sigma^2 -> 0 (exact recovery): no spectrum to predict ({se.message})")
    return PredictedQuadraticSpectrum(d, n, lam, gamma, noise, rank, se)


def measured_spectrum_quadratic(
    d, n, lam, gamma, noise, *, seeds: int = 8, base_seed: int = 0, method: str = "convex", design: str = "quadratic",
    rank: int | None = None, zero_tol: float | None = None,
) -> list[np.ndarray]:
    """Eigenvalues of S_hat (increasing) of ``seeds`` convex solves or trained networks, one array per seed.

    The data and solves are those of ``simulate_quadratic.simulate_quadratic`` (same seeds, so the same S_hat).
    Eigenvalues <= ``zero_tol`` are set to 0 (default CONVEX_ZERO_TOL for "convex", spectra.NETWORK_ZERO_TOL for
    "network"). A solve that does not converge raises RuntimeError.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r} (choose from {', '.join(DESIGNS)})")
    if zero_tol is None:
        zero_tol = NETWORK_ZERO_TOL if method == "network" else CONVEX_ZERO_TOL
    if isinstance(zero_tol, bool) or not (isinstance(zero_tol, (int, float)) and math.isfinite(zero_tol) and zero_tol >= 0):
        raise ValueError(f"zero_tol must be a finite number >= 0 (got {zero_tol!r})")
    sim = simulate_quadratic(d, n, lam, gamma, noise, seeds=seeds, method=method, design=design, rank=rank,
                             base_seed=base_seed)
    if not sim.converged:
        raise RuntimeError(sim.message)
    spectra = []
    for spectrum in sim.spectra:
        values = np.array(spectrum[::-1])
        values[values <= zero_tol] = 0.0
        spectra.append(values)
    return spectra
