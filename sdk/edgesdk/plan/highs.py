"""One mixed-integer solve with HiGHS (highspy): a sparse model in, the solution and a trace out.

The planner talks to HiGHS directly rather than through ``scipy.optimize.milp`` for two things
scipy does not expose: a starting solution (a feasible plan handed to branch and bound as its
first incumbent, so it starts pruning at once and its primal heuristics search around a good
plan) and a trace of the primal and dual bounds over time (what the benchmarks' "time to 1 %"
is read from).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np


@dataclass(frozen=True)
class Problem:
    cost: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray  # 1: integer column
    rows: np.ndarray  # coordinates of the constraint matrix
    cols: np.ndarray
    vals: np.ndarray
    lo: np.ndarray  # row bounds
    hi: np.ndarray


@dataclass(frozen=True)
class Outcome:
    status: str  # optimal | time_limit | infeasible | no_better_than_bound | error
    x: np.ndarray | None
    objective: float | None
    dual_bound: float | None
    message: str
    start_accepted: bool  # the starting solution was feasible and became the first incumbent
    trace: tuple[tuple[float, float, float], ...] = field(default=())  # (s, primal, dual) changes


_banner_shown = False


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance; the first one of a process prints a banner on fd 1, which is silenced."""
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    _banner_shown = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve(
    problem: Problem,
    time_limit_s: float,
    mip_gap: float,
    seed: int = 0,
    start: np.ndarray | None = None,
    objective_bound: float | None = None,
    verbose: bool = False,
    on_bounds: Callable[[float, float], None] | None = None,
) -> Outcome:
    """``on_bounds(primal, dual)``: called whenever HiGHS reports a new incumbent or bound."""
    began = time.perf_counter()
    h = _quiet_highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", 1)
    if objective_bound is not None:
        h.setOptionValue("objective_bound", float(objective_bound))
    n = len(problem.cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(problem.lo)
    lp.col_cost_ = problem.cost
    lp.col_lower_ = problem.lb
    lp.col_upper_ = problem.ub
    lp.row_lower_ = problem.lo
    lp.row_upper_ = problem.hi
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous for v in problem.integer
    ]
    order = np.lexsort((problem.rows, problem.cols))
    counts = np.bincount(problem.cols, minlength=n) if len(problem.cols) else np.zeros(n, dtype=np.int64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(problem.lo)
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lp.a_matrix_.index_ = problem.rows[order].astype(np.int32)
    lp.a_matrix_.value_ = problem.vals[order].astype(np.float64)
    h.passModel(lp)
    trace: list[tuple[float, float, float]] = []

    def record(_kind: int, _message: str, data_out: object, _data_in: object, _user: object) -> None:
        primal = float(data_out.mip_primal_bound)  # type: ignore[attr-defined]
        dual = float(data_out.mip_dual_bound)  # type: ignore[attr-defined]
        if not trace or trace[-1][1:] != (primal, dual):
            trace.append((time.perf_counter() - began, primal, dual))
            if on_bounds is not None:
                on_bounds(primal, dual)

    h.setCallback(record, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    accepted = start is not None and _feasible(problem, np.asarray(start, dtype=np.float64))
    if accepted:
        solution = highspy.HighsSolution()
        solution.col_value = list(np.asarray(start, dtype=np.float64))
        solution.value_valid = True
        accepted = h.setSolution(solution) == highspy.HighsStatus.kOk
    h.run()
    status_code = h.getModelStatus()
    message = h.modelStatusToString(status_code)
    info = h.getInfo()
    has_x = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_x else None
    objective = float(info.objective_function_value) if has_x else None
    dual = float(info.mip_dual_bound)
    dual_bound = dual if np.isfinite(dual) and abs(dual) < 1e300 else None
    kinds = highspy.HighsModelStatus
    if status_code == kinds.kOptimal:
        status = "optimal"
    elif status_code in (kinds.kTimeLimit, kinds.kInterrupt, kinds.kIterationLimit, kinds.kSolutionLimit):
        status = "time_limit"
    elif status_code == kinds.kObjectiveBound:
        status = "no_better_than_bound"
    elif status_code == kinds.kInfeasible:
        status = "no_better_than_bound" if objective_bound is not None else "infeasible"
    else:
        status = "error"
    if x is not None:
        final_dual = dual_bound if dual_bound is not None else -np.inf
        trace.append((time.perf_counter() - began, objective or 0.0, final_dual))
    return Outcome(status, x, objective, dual_bound, message, accepted, tuple(trace))


def _feasible(problem: Problem, x: np.ndarray, tol: float = 1e-7) -> bool:
    """Does ``x`` meet every bound, row and integrality of ``problem`` (a start HiGHS can use)?"""
    if len(x) != len(problem.cost):
        return False
    if np.any(x < problem.lb - tol) or np.any(x > problem.ub + tol):
        return False
    integer = problem.integer.astype(bool)
    if np.any(np.abs(x[integer] - np.round(x[integer])) > tol):
        return False
    activity = np.zeros(len(problem.lo))
    np.add.at(activity, problem.rows, problem.vals * x[problem.cols])
    return bool(np.all(activity >= problem.lo - tol) and np.all(activity <= problem.hi + tol))
