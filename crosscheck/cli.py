"""The ``scalinglab`` command line: one verb per job, ``--json`` for machines.

Exit status: 0 success (or a claim that holds), 1 a cross-check disagreement, a claim that
fails or an SE/simulation that did not converge, 2 invalid input (one line on stderr, no traceback),
3 an inconclusive claim.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .models import MODELS


class InputError(ValueError):
    """Invalid user input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage block too; we keep one line
        raise InputError(message)


# The training dynamics (spec/dynamics.md) is a model of its own for derive/crosscheck/claim; the
# flow and sgd verbs simulate the quadratic network's dynamics only.
VERB_MODELS = {"derive": MODELS + ("dynamics",), "crosscheck": MODELS + ("dynamics",), "claim": MODELS + ("dynamics",),
               "flow": ("quadratic",), "sgd": ("quadratic",)}


def _model(command: str, value: str) -> str:
    models = VERB_MODELS.get(command, MODELS)
    if value not in models:
        raise InputError(f"unknown model {value!r} for {command} (available: {', '.join(models)})")
    return value


def _integer(name: str):
    """An exact integer from text such as 1000 or 1e24 (float() would round 1e24)."""
    def parse(text: str) -> int:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"--{name} must be an integer (got {text!r})") from None
        if not value.is_finite() or value != value.to_integral_value():
            raise argparse.ArgumentTypeError(f"--{name} must be an integer (got {text!r})")
        return int(value)
    return parse


def _output_folder(text: str) -> str:
    """--out: a folder that exists or can be made (checked before any computation; made when written)."""
    path = Path(text).absolute()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"--out {text!r} exists and is not a folder")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"--out {text!r} cannot be made: {ancestor} is not a writable folder")
    return text


def _times(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--t must be comma-separated numbers (got {text!r})") from None
    if not values:
        raise argparse.ArgumentTypeError("--t needs at least one time")
    return values


def _dynamics(p):
    p.add_argument("model", help="quadratic (the network whose dynamics is simulated)")
    p.add_argument("--d", type=_integer("d"), required=True, help="input dimension (integer, e.g. 1000 or 1e24)")
    p.add_argument("--r", type=_integer("r"), required=True, help="teacher rank r <= d")
    p.add_argument("--alpha", type=float, required=True, help="teacher decay: lambda_j ~ j^-alpha (alpha >= 0)")
    p.add_argument("--width", type=_integer("width"), required=True, help="student width m")
    p.add_argument("--sigma0", type=float, default=1.0, help="initial weights N(0, sigma0^2/d) (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _physical(p, *, lam=True):
    p.add_argument("model", help="network model: diagonal or quadratic")
    p.add_argument("--d", type=float, required=True, help="input dimension (integer >= 1)")
    p.add_argument("--n", type=float, required=True, help="number of samples (>= 0)")
    if lam:
        p.add_argument("--lam", type=float, required=True, help="weight decay lambda (>= 0)")
    p.add_argument("--gamma", type=float, required=True, help="teacher decay (> 1/2; >= 0 with --rank, 0 = flat)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Delta (>= 0), default 0")
    p.add_argument("--teacher", default="signs", choices=("signs", "gaussian"), help="diagonal: teacher variant")
    p.add_argument("--rank", type=int, default=None, help="quadratic: teacher rank (spectrum cut after RANK)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _executor(p):
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1: in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the points on this Dask scheduler (e.g. tcp://host:8786) instead")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scalinglab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("se", help="excess risk from the finite-d state evolution")
    _physical(p)
    p.add_argument("--digits", type=int, default=None, help="diagonal: mpmath working digits (>= 30); default float64")
    p.add_argument("--binning", default="auto", choices=("auto", "exact", "binned"), help="diagonal: teacher sums")
    p.add_argument("--method", default=None, choices=("deterministic", "montecarlo"),
                   help="quadratic: free-probability SE (default) or the Monte-Carlo SE (GOE samples)")
    p.add_argument("--samples", type=int, default=None, help="quadratic --method montecarlo: GOE samples")
    p.add_argument("--seed", type=int, default=0, help="quadratic --method montecarlo: seed (default 0)")
    p.add_argument("--finite-d", action="store_true",
                   help="quadratic, deterministic: add the O(1/d) correction of the real GOE (agrees with Monte Carlo "
                        "to O(1/d^2); use it to compare with simulations at d <~ 2000)")

    p = sub.add_parser("bayes", help="Bayes-optimal excess risk (Gaussian prior) from its state evolution")
    _physical(p, lam=False)
    p.add_argument("--lam", type=float, default=None, help=argparse.SUPPRESS)  # accepted, unused
    p.add_argument("--digits", type=int, default=None, help="mpmath working digits (>= 30); default float64")

    p = sub.add_parser("simulate", help="train the network (or solve its LASSO) on sampled data")
    _physical(p)
    p.add_argument("--seeds", type=int, default=8, help="number of independent seeds (default 8)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--method", default="network", choices=("network", "lasso", "convex"),
                   help="network (default), or the convex problem: lasso (diagonal), convex (quadratic)")
    p.add_argument("--width", type=int, default=None, help="quadratic network width p >= d (default d)")
    p.add_argument("--design", default="quadratic", choices=("quadratic", "gaussian"),
                   help="quadratic: real features (default) or the Gaussian design of the same covariance")
    p.add_argument("--blocks", type=int, default=None, metavar="K",
                   help="quadratic: split each seed's R in the teacher's eigenbasis into the top-K block, the cross "
                        "blocks and the rest (where the error sits)")

    p = sub.add_parser("derive", help="derive the phase diagram of log_d R by dominant balance (SymPy)")
    p.add_argument("model")
    p.add_argument("--noiseless", action="store_true", help="Delta = 0 instead of Delta > 0")
    p.add_argument("--penalty", default=None, choices=("l1", "l2", "trace"),
                   help="diagonal: l1 (weight decay, default) or l2 (ridge); quadratic: trace (weight decay)")
    p.add_argument("--teacher", default="power-law", help="power-law (default) or finite-rank:RHO")
    p.add_argument("--json", action="store_true")
    p.add_argument("--latex", action="store_true", help="print the booktabs table")
    p.add_argument("--decomposition", action="store_true",
                   help="which part of R (missed signal, fitted noise, learned noise, shrinkage bias) dominates each regime")
    p.add_argument("--tails", action="store_true",
                   help="where the learned spectrum keeps the teacher's power-law tail: cutoff, decades D log10 d, exponent")
    p.add_argument("--compare", action="store_true",
                   help="quadratic: compare its derived table with the diagonal one (n -> n_eff, derived lam shift)")

    p = sub.add_parser("crosscheck", help="check analytic exponents against SE fits and SE against simulations")
    p.add_argument("model")
    p.add_argument("--quick", action="store_true", help="small grid, d <= 500 simulations (< 5 minutes)")
    p.add_argument("--out", default="results/crosscheck", type=_output_folder,
                   help="output folder (default results/crosscheck)")
    p.add_argument("--gamma", type=float, default=1.5, help="teacher decay (default 1.5)")
    p.add_argument("--noise", type=float, default=0.5, help="Delta of the noisy diagram (default 0.5)")
    p.add_argument("--json", action="store_true", help="print the report summary as JSON")
    p.add_argument("--tails", action="store_true",
                   help="instead: power-law tails of SE-predicted spectra (CSN fits) vs the derived tail ranges")
    p.add_argument("--decomposition", action="store_true",
                   help="instead: the dominant part of the SE risk vs the derived one over the grid (Delta = --noise and 0)")
    _executor(p)

    p = sub.add_parser("sweep", help="compute se, bayes or simulate over a grid, resumable, in parallel or on Dask")
    p.add_argument("model")
    p.add_argument("--what", required=True, choices=("se", "bayes", "simulate"), help="what each point computes")
    for name, what in (("d", "input dimensions"), ("n", "sample sizes"), ("lam", "weight decays (not for bayes)"),
                       ("gamma", "teacher decays"), ("noise", "noise variances Delta")):
        p.add_argument(f"--{name}", required=name != "lam", help=f"{what}: comma-separated, or START:STOP:NUM (geometric)")
    p.add_argument("--teacher", default="signs", choices=("signs", "gaussian"), help="teacher variant (se, simulate)")
    p.add_argument("--seeds", type=int, default=8, help="seeds per simulated point (default 8)")
    p.add_argument("--method", default="network", choices=("network", "lasso", "convex"),
                   help="simulations: network (default), lasso (diagonal) or convex (quadratic)")
    p.add_argument("--out", required=True, type=_output_folder,
                   help="output folder: points.jsonl, summary.json, summary.csv")
    p.add_argument("--json", action="store_true", help="print the summary (without rows) as JSON")
    _executor(p)

    p = sub.add_parser("flow", help="exact gradient flow of the quadratic network on the He2 teacher (cost independent of d)")
    _dynamics(p)
    p.add_argument("--t", type=_times, required=True, help="times T1,T2,... (t = learning rate x steps)")
    p.add_argument("--head", type=_integer("head"), default=None,
                   help="teacher directions followed exactly (default min(r, 1000)); the others are certified unlearned")

    p = sub.add_parser("sgd", help="online SGD of the quadratic network on the He2 teacher, averaged over seeds")
    _dynamics(p)
    p.add_argument("--steps", type=_integer("steps"), required=True, help="SGD steps (one fresh batch each)")
    p.add_argument("--lr", type=float, required=True, help="step size eta (time t = eta x steps)")
    p.add_argument("--batch", type=_integer("batch"), default=1, help="batch size B (default 1)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Delta (default 0)")
    p.add_argument("--seeds", type=int, default=8, help="independent runs (default 8)")

    p = sub.add_parser("spectrum", help="learned spectrum predicted by the SE (and measured), power-law tail fit, figure")
    _physical(p)
    p.add_argument("--simulate", action="store_true", help="also measure the spectrum of trained networks")
    p.add_argument("--seeds", type=int, default=8, help="--simulate: independent solves, pooled (default 8)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the solves, the SE draws and the bootstraps")
    p.add_argument("--method", default="network", choices=("network", "lasso", "convex"),
                   help="--simulate: network (default), or the convex problem: lasso (diagonal), convex (quadratic)")
    p.add_argument("--out", default=None, type=_output_folder,
                   help="folder for spectrum.json and the figure spectrum.{png,pdf}")

    p = sub.add_parser("prune", help="pruning / debiasing of the trained weights: SE prediction, measurement, rates")
    p.add_argument("model", help="network model: diagonal or quadratic")
    p.add_argument("--d", type=float, default=None, help="input dimension (integer >= 1); not with --rates")
    p.add_argument("--n", type=float, default=None, help="number of samples (>= 0); not with --rates")
    p.add_argument("--lam", type=float, default=None, help="weight decay lambda (>= 0); not with --rates")
    p.add_argument("--gamma", type=float, default=1.5, help="teacher decay (> 1/2), default 1.5")
    p.add_argument("--noise", type=float, default=0.5, help="label-noise variance Delta (>= 0), default 0.5")
    p.add_argument("--simulate", action="store_true", help="also measure on LASSO solves and trained networks")
    p.add_argument("--seeds", type=int, default=None, help="--simulate: independent seeds (default 8; quadratic 4)")
    p.add_argument("--seed", type=int, default=0, help="--simulate: base seed (default 0)")
    p.add_argument("--rates", action="store_true",
                   help="instead: per regime of the derived diagram, does post-processing change the rate or the constant")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("optimal", help="optimal weight decay lam_opt and R(lam_opt) from the SE, with the derived optimum")
    p.add_argument("model", help="network model: diagonal or quadratic")
    p.add_argument("--d", type=float, default=None, help="input dimension (integer >= 1); not with --scaling")
    p.add_argument("--n", type=float, default=None, help="number of samples (>= 0); not with --scaling")
    p.add_argument("--gamma", type=float, required=True, help="teacher decay (> 1/2)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Delta (>= 0), default 0")
    p.add_argument("--rtol", type=float, default=1e-3, help="relative accuracy of lam_opt (default 1e-3)")
    p.add_argument("--scaling", action="store_true",
                   help="the cross-check: exponents of lam_opt and R(lam_opt) in d at n = d^ell vs the derived ones")
    p.add_argument("--ells", default=None, help="--scaling: comma-separated ell = log_d n (n_eff) (default: the quick grid)")
    p.add_argument("--ds", default=None, help="--scaling: increasing dimensions, comma-separated or START:STOP:NUM")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("report", help="rebuild the report of a crosscheck or sweep folder from its points.jsonl")
    p.add_argument("out", metavar="DIR")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("claim", help="test an asymptotic claim 'R ~ EXPR where CONDITIONS' against the SE")
    p.add_argument("model")
    p.add_argument("--rate", required=True,
                   help="rate in n, d, lam, gamma (n_eff = n/d for quadratic), e.g. 'n**(-1+1/(2*gamma))'; "
                        "dynamics: in t (or n), m, r, d, alpha, e.g. 't**(-(2*alpha-1)/alpha)'")
    p.add_argument("--where", required=True, help="e.g. 'n << d, lam << sqrt(n/d)' ('<' reads as '<<'); "
                                                  "dynamics: orderings of t with t1, tr, tm, e.g. 't1 << t, t << tr'")
    p.add_argument("--noise", type=float, default=0.5, help="Delta (default 0.5; 0 for the noiseless case)")
    p.add_argument("--gamma", type=float, default=1.5, help="teacher decay (default 1.5)")
    p.add_argument("--alpha", type=float, default=1.0, help="dynamics: teacher decay lambda_j ~ j^-alpha (default 1)")
    p.add_argument("--d", type=float, default=1e24, help="dynamics: largest d of the exact flow (default 1e24)")
    p.add_argument("--beta", type=float, default=0.5, help="dynamics: teacher rank r = d^beta (default 0.5)")
    p.add_argument("--sigma0", type=float, default=1.0, help="dynamics: initial weights N(0, sigma0^2/d) (default 1)")
    p.add_argument("--json", action="store_true")
    return parser


def _finite(value):
    """Non-finite floats (NaN: not computed; inf) as None, so that --json prints standard JSON (null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json(payload) -> str:
    return json.dumps(_finite(payload), allow_nan=False)


def _emit(payload: dict, as_json: bool, text: str) -> None:
    print(_json(payload) if as_json else text)


def _only(args, model: str, **flags) -> None:
    """Options that belong to one model: refuse them for the other (one line, exit 2)."""
    for flag, default in flags.items():
        if args.model != model and getattr(args, flag) != default:
            raise InputError(f"--{flag.replace('_', '-')} applies to the {model} network only")


def _report(args, res, fields: tuple, width: int = 16) -> int:
    out = {"model": args.model, **{k: getattr(args, k) for k in fields}, **res.to_dict()}
    _emit(out, args.json, "\n".join(f"{k:>{width}}: {v}" for k, v in out.items()))
    return 0 if res.converged else 1


def _cmd_se(args) -> int:
    from .models import state_evolution

    _only(args, "diagonal", digits=None, binning="auto", teacher="signs")
    _only(args, "quadratic", method=None, samples=None, seed=0, rank=None, finite_d=False)
    if args.model == "diagonal":
        options = {"digits": args.digits, "binning": args.binning, "teacher": args.teacher}
    else:
        options = {"method": args.method or "deterministic", "rank": args.rank}
        if args.finite_d:
            if options["method"] == "montecarlo":
                raise InputError("--finite-d corrects the deterministic SE (Monte Carlo is exact at finite d)")
            options["finite_d"] = True
        if options["method"] == "montecarlo":
            options |= {"seed": args.seed} | ({"samples": args.samples} if args.samples is not None else {})
        elif args.samples is not None:
            raise InputError("--samples applies to --method montecarlo only")
    res = state_evolution(args.model, args.d, args.n, args.lam, args.gamma, args.noise, **options)
    return _report(args, res, ("d", "n", "lam", "gamma", "noise") + (("finite_d",) if args.model == "quadratic" else ()))


def _cmd_bayes(args) -> int:
    from .models import bayes

    _only(args, "diagonal", digits=None, teacher="signs")
    _only(args, "quadratic", rank=None)
    options = {"digits": args.digits} if args.model == "diagonal" else {"rank": args.rank}
    res = bayes(args.model, args.d, args.n, args.gamma, args.noise, **options)
    return _report(args, res, ("d", "n", "gamma", "noise"))


def _cmd_simulate(args) -> int:
    from .models import SIM_METHODS, simulate

    if args.seeds < 1:
        raise InputError(f"--seeds must be >= 1 (got {args.seeds})")
    if args.method not in SIM_METHODS[args.model]:
        raise InputError(f"--method {args.method} is not a method of the {args.model} network "
                         f"(choose from {', '.join(SIM_METHODS[args.model])})")
    _only(args, "diagonal", teacher="signs")
    _only(args, "quadratic", width=None, design="quadratic", rank=None, blocks=None)
    options = {"teacher": args.teacher} if args.model == "diagonal" else \
        {"design": args.design, "width": args.width, "rank": args.rank, "blocks": args.blocks}
    res = simulate(args.model, args.d, args.n, args.lam, args.gamma, args.noise, seeds=args.seeds,
                   method=args.method, base_seed=args.seed, **options)
    return _report(args, res, ("d", "n", "lam", "gamma", "noise"), width=20)


def _cmd_derive(args) -> int:
    from analytic import derive, table_latex

    if args.compare:
        from analytic.model_comparison import compare_tables, comparison_markdown, kappa_shift

        if args.model != "quadratic":
            raise InputError("--compare compares the quadratic table with the diagonal one: use 'derive quadratic --compare'")
        if args.json:
            print(_json({"kappa_shift": str(kappa_shift()), "noise": "Delta = 0" if args.noiseless else "Delta > 0",
                              "pairings": [p.to_dict() for p in compare_tables(args.noiseless)]}))
        else:
            print(comparison_markdown(args.noiseless))
        return 0
    if args.decomposition and args.tails:
        raise InputError("--decomposition and --tails are separate tables: give one")
    if args.decomposition:
        return _derive_decomposition(args)
    if args.tails:
        return _derive_tails(args)
    if args.model == "dynamics":
        from analytic.dynamics_laws import derive_dynamics

        if args.noiseless or args.penalty is not None or args.teacher != "power-law":
            raise InputError("--noiseless, --penalty and --teacher apply to the diagonal and quadratic networks only")
        diagram = derive_dynamics()
    else:
        diagram = derive(args.model, penalty=args.penalty, noiseless=args.noiseless, teacher=args.teacher)
    if args.latex:
        print(table_latex(diagram))
        return 0
    data = diagram.to_dict()
    if args.json:
        print(_json(data))
        return 0
    if args.model == "dynamics":
        print(f"training dynamics of the quadratic network: {data['teacher']}")
    else:
        print(f"{data['model']} network, penalty {data['penalty']}, {data['noise']}, teacher {data['teacher']}")
    print("R ~ d^logd_risk (ln d)^log_power; " + ", ".join(f"{k} = {v}" for k, v in data["variables"].items()) + "\n")
    for r in data["regimes"]:
        logs = f" (ln d)^({r['log_power']})" if r["log_power"] != "0" else ""
        print(f"{r['name']}\n    R ~ {r['rate']}   [log_d R = {r['logd_risk']}{logs}]\n    where {r['condition']}")
    for note in data["notes"]:
        print(f"\nnote: {note}")
    return 0


def _derive_tails(args) -> int:
    from analytic.spectrum_tails import tail_table, tail_table_latex

    if args.model == "dynamics" or args.penalty is not None or args.compare:
        raise InputError("--tails applies to the diagonal and quadratic networks (default penalty)")
    if args.latex:
        print(tail_table_latex(args.model, args.noiseless))
        return 0
    table = tail_table(args.model, args.noiseless, args.teacher)
    if args.json:
        print(_json({"model": args.model, "noise": "Delta = 0" if args.noiseless else "Delta > 0",
                          "teacher": args.teacher, "tails": [t.to_dict() for t in table]}))
        return 0
    print(f"{args.model} network, {'Delta = 0' if args.noiseless else 'Delta > 0'}, teacher {args.teacher}: the learned "
          "spectrum follows the teacher's law over D log10(d) decades, from its top value down to the cutoff\n")
    for t in table:
        expo = "no power law" if t.tail_exponent is None else f"density exponent {t.tail_exponent}"
        print(f"{t.regime}\n    cutoff {t.lower_cutoff}: D = {t.decades_exponent}, {expo}\n    where {t.condition}"
              + (f"\n    {t.note}" if t.note else ""))
    return 0


def _derive_decomposition(args) -> int:
    from analytic.decomposition import PART_NAMES, decomposition, decomposition_latex, same_form

    if args.model == "dynamics" or args.penalty is not None or args.teacher != "power-law" or args.compare:
        raise InputError("--decomposition applies to the diagonal and quadratic networks (default penalty and teacher)")
    if args.latex:
        print(decomposition_latex(args.model, args.noiseless))
        return 0
    table = decomposition(args.model, args.noiseless)
    if args.json:
        print(_json({"model": args.model, "noise": "Delta = 0" if args.noiseless else "Delta > 0",
                          "parts": PART_NAMES, "regimes": [r.to_dict() for r in table],
                          "same_form": same_form(args.noiseless)}))
        return 0
    print(f"{args.model} network, {'Delta = 0' if args.noiseless else 'Delta > 0'}: R = missed signal + fitted noise + "
          "learned noise + shrinkage bias\n")
    for r in table:
        print(f"{r.regime}  [log_d R = {r.logd_risk}]\n    dominated by: {', '.join(PART_NAMES[p] for p in r.dominant)}")
        for part, rates in r.rates.items():
            if part not in r.dominant and rates:
                print(f"    {PART_NAMES[part]}: log_d = " + ", ".join(str(e) for e, _ in rates))
    print("\nsame form for both networks?")
    for row in same_form(args.noiseless):
        print(f"    {row['regime']}: {row['verdict']}")
    return 0


def _cmd_crosscheck(args) -> int:
    from .run import run_crosscheck

    if args.model == "dynamics":
        from .dynamics_run import run_dynamics_crosscheck

        _only(args, "diagonal or quadratic", gamma=1.5, noise=0.5, decomposition=False, tails=False)
        report = run_dynamics_crosscheck(quick=args.quick, out=Path(args.out), progress=not args.json, jobs=args.jobs,
                                         scheduler=args.scheduler)
        if args.json:
            print(_json(report["summary"]))
        return 0 if report["summary"]["passed"] else 1
    if args.decomposition and args.tails:
        raise InputError("--decomposition and --tails are separate checks: give one")
    if args.decomposition or args.tails:
        return _crosscheck_extra(args, "decomposition" if args.decomposition else "tails")
    report = run_crosscheck(args.model, quick=args.quick, out=Path(args.out), gamma=args.gamma, noise=args.noise,
                            progress=not args.json, jobs=args.jobs, scheduler=args.scheduler)
    if args.json:
        print(_json(report["summary"]))
    return 0 if report["summary"]["passed"] else 1


def _crosscheck_extra(args, kind: str) -> int:
    """``crosscheck MODEL --decomposition`` or ``--tails``: run the check, write KIND.json and its figure to --out."""
    from . import decomposition, tails
    from .report import write_json

    if args.jobs != 1 or args.scheduler is not None:
        raise InputError(f"--{kind} runs in this process (no --jobs or --scheduler)")
    if kind == "decomposition":
        result = decomposition.check_decomposition(args.model, quick=args.quick, gamma=args.gamma,
                                                   noises=(args.noise, 0.0))
        figure, text, bulky = decomposition.decomposition_figure, decomposition.format_decomposition, "diagrams"
    else:
        result = tails.run_tails(args.model, quick=args.quick, gamma=args.gamma, noise=args.noise)
        figure, text, bulky = tails.tails_figure, tails.format_tails, "points"
    out = Path(args.out)
    write_json(out / f"{kind}.json", result)
    result["files"] = [str(out / f"{kind}.json"), *figure(result, out / kind)]
    print(_json({k: v for k, v in result.items() if k != bulky}) if args.json else text(result))
    return 0 if result["passed"] else 1


def _cmd_sweep(args) -> int:
    from .run import parse_values, run_sweep

    grid = {k: parse_values(k, getattr(args, k)) if getattr(args, k) is not None else None
            for k in ("d", "n", "lam", "gamma", "noise")}
    summary = run_sweep(args.model, what=args.what, grid=grid, out=Path(args.out), seeds=args.seeds,
                        method=args.method, teacher=args.teacher, jobs=args.jobs, scheduler=args.scheduler,
                        progress=not args.json)
    if args.json:
        print(_json({k: v for k, v in summary.items() if k != "rows"}))
    return 0 if summary["converged"] == summary["points"] else 1


def _cmd_report(args) -> int:
    from .run import rebuild_report

    report = rebuild_report(Path(args.out))
    summary = report["summary"] if "summary" in report else {k: v for k, v in report.items() if k != "rows"}
    print(_json(summary) if args.json else f"rebuilt the report in {args.out}: {_json(summary)}")
    return 0 if summary.get("passed", True) else 1


def _cmd_claim(args) -> int:
    from .claims import check_claim, format_verdict

    if args.model == "dynamics":
        from .dynamics_claims import check_dynamics_claim, format_dynamics_verdict

        _only(args, "diagonal or quadratic", gamma=1.5, noise=0.5)
        verdict = check_dynamics_claim(args.rate, args.where, alpha=args.alpha, d=args.d, beta=args.beta,
                                       sigma0=args.sigma0)
        print(_json(verdict) if args.json else format_dynamics_verdict(verdict))
        return {"holds": 0, "fails": 1, "inconclusive": 3}[verdict["verdict"]]
    _only(args, "dynamics", alpha=1.0, d=1e24, beta=0.5, sigma0=1.0)
    verdict = check_claim(args.rate, args.where, gamma=args.gamma, noise=args.noise, model=args.model)
    if args.json:
        print(_json(verdict))
    else:
        print(format_verdict(verdict))
    return {"holds": 0, "fails": 1, "inconclusive": 3}[verdict["verdict"]]


def _cmd_flow(args) -> int:
    from numeric.flow import DEFAULT_HEAD, gradient_flow

    head = min(args.r, DEFAULT_HEAD) if args.head is None else args.head
    res = gradient_flow(args.d, args.r, args.alpha, args.width, args.t, sigma0=args.sigma0, seed=args.seed, head=head)
    return _report(args, res, ("d", "r", "alpha", "width", "sigma0", "seed"), width=14)


def _cmd_sgd(args) -> int:
    from numeric.sgd import online_sgd

    res = online_sgd(args.d, args.r, args.alpha, args.width, args.steps, args.lr, batch=args.batch, noise=args.noise,
                     seeds=args.seeds, sigma0=args.sigma0, base_seed=args.seed)
    diverged = int(res.diverged.sum())
    out = {"model": args.model, **res.to_dict(), "c": res.c, "diverged_seeds": diverged,
           "message": f"{diverged} of {res.seeds} seeds diverged (c = lr d Tr A / B = {res.c:.3g})" if diverged else "ok"}
    _emit(out, args.json, "\n".join(f"{k:>14}: {v}" for k, v in out.items()))
    return 1 if diverged else 0


def _cmd_spectrum(args) -> int:
    from .spectrum import format_spectrum, run_spectrum

    if args.teacher != "signs" or args.rank is not None:
        raise InputError("--teacher and --rank are not supported by spectrum")
    if args.seeds < 1:
        raise InputError(f"--seeds must be >= 1 (got {args.seeds})")
    result = run_spectrum(args.model, args.d, args.n, args.lam, args.gamma, args.noise, simulate=args.simulate,
                          seeds=args.seeds, base_seed=args.seed, method=args.method, seed=args.seed,
                          out=Path(args.out) if args.out else None)
    print(_json(result) if args.json else format_spectrum(result))
    return 0 if not args.simulate or result["measured"]["comparison"]["agree"] else 1


def _cmd_optimal(args) -> int:
    from .optimal import check_optimal_scaling, format_optimal, format_optimal_scaling, run_optimal
    from .run import CONFIGS, parse_values

    if args.scaling:
        if args.d is not None or args.n is not None:
            raise InputError("--scaling sweeps d and n = d^ell: give --ells and --ds instead of --d and --n")
        ells = parse_values("ells", args.ells) if args.ells else CONFIGS[args.model]["quick"]["ells"]
        ds = parse_values("d", args.ds) if args.ds else None
        out = check_optimal_scaling(args.model, ells, args.gamma, args.noise, ds, rtol=args.rtol)
        print(_json(out) if args.json else format_optimal_scaling(out))
        return 0 if out["passed"] else 1
    if args.d is None or args.n is None or args.ells is not None or args.ds is not None:
        raise InputError("optimal needs --d and --n (or --scaling with --ells and --ds)")
    out = run_optimal(args.model, args.d, args.n, args.gamma, args.noise, rtol=args.rtol)
    print(_json(out) if args.json else format_optimal(out))
    return 0 if out["converged"] else 1


def _cmd_prune(args) -> int:
    from . import postprocess as pp

    quadratic = args.model == "quadratic"
    fmt = pp.format_postprocess_quadratic if quadratic else pp.format_postprocess
    if args.rates:
        if args.d is not None or args.n is not None or args.lam is not None or args.simulate or args.seeds is not None:
            raise InputError("--rates sweeps its own rays: no --d, --n, --lam, --simulate or --seeds")
        result = (pp.postprocess_rates_quadratic if quadratic else pp.postprocess_rates)(args.gamma, args.noise)
        print(_json(result) if args.json else fmt(result))
        return 0
    if args.d is None or args.n is None or args.lam is None:
        raise InputError("prune needs --d, --n and --lam (or --rates)")
    seeds = args.seeds if args.seeds is not None else (4 if quadratic else 8)
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1 (got {seeds})")
    run = pp.run_postprocess_quadratic if quadratic else pp.run_postprocess
    result = run(args.d, args.n, args.lam, args.gamma, args.noise, simulate=args.simulate, seeds=seeds,
                 base_seed=args.seed)
    print(_json(result) if args.json else fmt(result))
    if not result["prediction"]["converged"]:
        return 1
    measured = result.get("measured") or {}
    return 0 if all(m.get("converged") and all(r["agree"] for k, r in m["risks"].items() if k != "refit")
                    for m in measured.values()) else 1


COMMANDS = {"se": _cmd_se, "bayes": _cmd_bayes, "simulate": _cmd_simulate, "derive": _cmd_derive,
            "crosscheck": _cmd_crosscheck, "sweep": _cmd_sweep, "report": _cmd_report, "claim": _cmd_claim,
            "flow": _cmd_flow, "sgd": _cmd_sgd, "spectrum": _cmd_spectrum, "optimal": _cmd_optimal,
            "prune": _cmd_prune}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command != "report":
            _model(args.command, args.model)
        return COMMANDS[args.command](args)
    except (InputError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"scalinglab: error: {message}", file=sys.stderr)
        return 2
    except (OverflowError, MemoryError) as exc:  # sizes beyond what float64 or this machine's memory can hold
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"scalinglab: error: the input is too large for this computation ({reason})", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output folder that cannot be written
        print(f"scalinglab: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scalinglab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
