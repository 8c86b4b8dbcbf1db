"""The rematerialization + paging MILP, solved by HiGHS (:mod:`edgesdk.plan.highs`).

Notation (POET's, on the stages of :mod:`edgesdk.plan.stages`; s a stage, i a node, k a tier):

    R[s,i]      1: recompute i in stage s            (new nodes of s always run: constants)
    S[s,i]      1: i's output is in RAM when stage s starts
    Mout[i,k]   1: write i to tier k right after its first computation (valid for the rest of the step)
    Min[s,i,k]  1: read i back from tier k at the end of stage s, so S[s+1,i] may be 1
    W[s]        workspace held in stage s (continuous)

    b_i output bytes, w_i workspace, c_i / t_i compute cost / time, cin, cout, tin, tout paging
    cost / time (tout includes the amortized erase), B the RAM budget, Res the resident state.

What makes it small and fast (measured in docs/planner.md):

- Variables exist only for live pairs: S, R for stage_of(i) < s <= horizon(i); nothing for
  i >= the stage's new nodes (the triangular structure) or after i's last possible use.
- Storage residency needs no variable: a page-out at i's first computation dominates any later
  one (same bytes written, same erases), so "in storage at s" is Mout[i,k] for every later s.
- Memory is one row per stage that counts everything held or computed in the stage at once
  (no free-edge variables, no U recurrence); the lowered schedule frees earlier, never later.
- Dependencies of new nodes on values that cannot be recomputed become bounds (S[s,i] = 1).
- Rows are scaled: memory by 1/B, time by 1/keep-all time, the objective to ~1000 for keep-all.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from edgesdk.plan import highs
from edgesdk.plan.cost import CostModel, stored_bytes
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.stageplan import StagePlan
from edgesdk.plan.stages import Stages

_OBJECTIVE_SCALE = 1000.0  # keep-all cost maps to this many objective units


@dataclass(frozen=True)
class MilpSettings:
    budget_bytes: int
    runtime_budget_s: float | None = None
    max_erases_per_step: float | None = None
    allow_remat: bool = True
    allow_paging: bool = True
    time_limit_s: float = 60.0
    mip_gap: float = 0.01
    upper_bound: float | None = None  # a known feasible objective (warm cutoff for branch and bound)
    page_in_before_readers: bool = False  # page-ins only just before a stage whose new nodes read the value
    dominance: bool = False  # add the dominance rows (measured in docs/planner.md)
    feasibility_only: bool = False  # zero objective: stop at the first feasible plan
    start: StagePlan | None = None  # a plan on the same stages: HiGHS's first incumbent if feasible
    window: tuple[int, int] | None = None  # with start: decide only stages a..b, the rest as in start
    seed: int = 0
    verbose: bool = False


@dataclass(frozen=True)
class MilpResult:
    plan: StagePlan | None
    status: str  # optimal | time_limit | infeasible | no_better_than_bound | error
    objective: float | None  # cost of `plan` by the MILP (J or s), constants included
    bound: float | None  # proven lower bound on the objective (J or s)
    gap: float | None  # (objective - bound) / objective
    solve_s: float
    variables: int
    binaries: int
    rows: int
    nonzeros: int
    message: str
    start_accepted: bool = False  # the starting plan was feasible and became the first incumbent
    trace: tuple[tuple[float, float, float], ...] = ()  # (s, best cost, bound) as the solve went


class _Model:
    """Sparse rows ``lo <= a x <= hi`` and columns with bounds, cost and integrality."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def var(self, cost: float, lb: float = 0.0, ub: float = 1.0, integer: bool = True) -> int:
        self.cost.append(cost)
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(1 if integer else 0)
        return len(self.cost) - 1

    def row(self, terms: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(self.lo)
        for col, val in terms:
            self.rows.append(r)
            self.cols.append(col)
            self.vals.append(val)
        self.lo.append(lo)
        self.hi.append(hi)


def solve_milp(graph: PlanGraph, cost: CostModel, stages: Stages, settings: MilpSettings) -> MilpResult:
    start = time.perf_counter()
    nodes = graph.nodes
    b = [n.output_bytes for n in nodes]
    w = [n.workspace_bytes for n in nodes]
    tiers = cost.tiers if settings.allow_paging else ()
    budget = float(max(settings.budget_bytes, 1))
    scale = _OBJECTIVE_SCALE / _reference(
        cost.keep_all_cost, [cost.compute_cost(i) for i in range(graph.size)]
    )
    tscale = 1.0 / _reference(cost.keep_all_time, [t for tier in cost.tiers for t in tier.out_time])
    zero = settings.feasibility_only
    m = _Model()

    # ---- variables (only where the stage structure lets them be nonzero)
    S: dict[tuple[int, int], int] = {}
    R: dict[tuple[int, int], int] = {}
    Mout: dict[tuple[int, int], int] = {}
    Min: dict[tuple[int, int, int], int] = {}
    reader_stages = [{stages.stage_of[j] for j in users} for users in graph.consumers()]
    for i in range(graph.size):
        for s in stages.live_stages(i):
            S[s, i] = m.var(0.0)
            if settings.allow_remat and nodes[i].recomputable:
                R[s, i] = m.var(0.0 if zero else cost.compute_cost(i) * scale)
        pageable = b[i] > 0 and stages.horizon[i] > stages.stage_of[i] + 1
        for tier in tiers if pageable else ():
            k = tier.index
            Mout[i, k] = m.var(0.0 if zero else cost.out_cost(k, i) * scale)
            for s in range(stages.stage_of[i] + 1, stages.horizon[i]):
                if settings.page_in_before_readers and s + 1 not in reader_stages[i]:
                    continue
                Min[s, i, k] = m.var(0.0 if zero else cost.in_cost(k, i) * scale)
    ks = [t.index for t in tiers]

    # ---- dependencies of new nodes:  S[s,i] + R[s,i] >= 1   for i -> j, j new in s, i not new in s
    for s in range(stages.count):
        new = set(stages.new_nodes(s))
        for j in new:
            for i in nodes[j].deps:
                if i in new:
                    continue
                if (s, i) in R:
                    m.row([(S[s, i], 1.0), (R[s, i], 1.0)], 1.0, np.inf)
                else:
                    m.lb[S[s, i]] = 1.0

    # ---- dependencies of recomputations:  R[s,j] <= S[s,i] + R[s,i]   for i -> j
    for (s, j), rj in R.items():
        for i in nodes[j].deps:
            terms = [(rj, 1.0), (S[s, i], -1.0)]
            if (s, i) in R:
                terms.append((R[s, i], -1.0))
            m.row(terms, -np.inf, 0.0)

    # ---- carries:  S[s+1,i] <= S[s,i] + R[s,i] + sum_k Min[s,i,k]   (for s > stage_of(i))
    for (s1, i), col in S.items():
        s = s1 - 1
        if s == stages.stage_of[i]:
            continue  # computed in stage s: may always be kept
        terms = [(col, 1.0), (S[s, i], -1.0)]
        if (s, i) in R:
            terms.append((R[s, i], -1.0))
        terms += [(Min[s, i, k], -1.0) for k in ks if (s, i, k) in Min]
        m.row(terms, -np.inf, 0.0)

    # ---- paging consistency:  Min[s,i,k] <= Mout[i,k]
    for (_s, i, k), col in Min.items():
        m.row([(col, 1.0), (Mout[i, k], -1.0)], -np.inf, 0.0)

    # ---- dominance (no optimal plan needs more): hold, recompute or page in only what is read
    #   use(s,i) = [a consumer of i is new in s] + sum_{consumers j} R[s,j]
    #   S[s,i] <= use(s,i) + S[s+1,i]      R[s,i] <= use(s,i) + S[s+1,i]      Min[s,i,k] <= use(s+1,i)
    if settings.dominance:
        consumers = graph.consumers()

        def use(s: int, i: int) -> list[tuple[int, float]] | None:
            if any(stages.stage_of[j] == s for j in consumers[i]):
                return None  # read by a new node: always used
            return [(R[s, j], -1.0) for j in consumers[i] if (s, j) in R]

        for (s, i), col in list(S.items()) + list(R.items()):
            used = use(s, i)
            if used is None:
                continue
            carry = [(S[s + 1, i], -1.0)] if (s + 1, i) in S else []
            m.row([(col, 1.0), *used, *carry], -np.inf, 0.0)
        for (s, i, _k), col in Min.items():
            used = use(s + 1, i)
            if used is not None:
                m.row([(col, 1.0), *used], -np.inf, 0.0)

    # ---- one tier per node:  sum_k Mout[i,k] <= 1
    if len(ks) > 1:
        by_node: dict[int, list[int]] = defaultdict(list)
        for (i, _k), col in Mout.items():
            by_node[i].append(col)
        for cols in by_node.values():
            m.row([(c, 1.0) for c in cols], -np.inf, 1.0)

    # ---- RAM per stage (everything held or computed in the stage counts at once):
    #   Res + sum_i b_i (S[s,i] + R[s,i]) + sum_{j new in s} b_j + W[s] <= B
    #   W[s] >= w_j R[s,j]   (only where w_j exceeds the new nodes' largest workspace)
    workspace: dict[int, tuple[int, float, list[tuple[int, int]]]] = {}  # stage -> (W col, floor, R cols)
    held: dict[int, list[tuple[int, float]]] = defaultdict(list)
    recompute_at: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (s, i), col in S.items():
        if b[i]:
            held[s].append((col, b[i] / budget))
    for (s, i), col in R.items():
        recompute_at[s].append((i, col))
        if b[i]:
            held[s].append((col, b[i] / budget))
    for s in range(stages.count):
        new = list(stages.new_nodes(s))
        fixed = cost.resident_bytes + sum(b[j] for j in new)
        w_new = max(w[j] for j in new)
        terms = held[s]
        bigger = [(col, w[j]) for j, col in recompute_at[s] if w[j] > w_new]
        if bigger:
            ws = m.var(0.0, lb=w_new / budget, ub=np.inf, integer=False)
            workspace[s] = (ws, w_new / budget, [(col, wj / budget) for col, wj in bigger])
            for col, wj in bigger:
                m.row([(ws, 1.0), (col, -wj / budget)], 0.0, np.inf)
            terms = [*terms, (ws, 1.0)]
        else:
            fixed += w_new
        m.row(terms, -np.inf, (budget - fixed) / budget)

    # ---- runtime:  sum t_i R + sum tin Min + sum tout Mout <= T_budget - sum_{new} t_j
    if settings.runtime_budget_s is not None:
        terms = [(col, cost.compute_time[i] * tscale) for (_s, i), col in R.items()]
        terms += [(col, cost.tiers[k].in_time[i] * tscale) for (_s, i, k), col in Min.items()]
        terms += [(col, cost.tiers[k].out_time[i] * tscale) for (i, k), col in Mout.items()]
        m.row(terms, -np.inf, (settings.runtime_budget_s - cost.keep_all_time) * tscale)

    # ---- storage space per tier (a' = b rounded up to the program unit; see cost.py):
    #   sum_i a'_i Mout[i,k] <= capacity_k
    # ---- wear:  sum_k sum_i a'_i / sector_k Mout[i,k] <= erase cap
    stored = [stored_bytes(x) for x in b]
    for k in ks:
        terms = [(col, stored[i] / cost.tiers[k].capacity_bytes) for (i, kk), col in Mout.items() if kk == k]
        if terms:
            m.row(terms, -np.inf, 1.0)
    if settings.max_erases_per_step is not None and Mout:
        terms = [(col, stored[i] / cost.tiers[k].sector_bytes) for (i, k), col in Mout.items()]
        m.row(terms, -np.inf, settings.max_erases_per_step)

    # the cost of running every node once, as a fixed column: HiGHS's relative gap then measures the
    # whole step's cost (what a user compares), not only the extra over computing everything once
    constant = sum(cost.compute_cost(j) for j in range(graph.size))
    fixed_cols = [] if zero else [m.var(constant * scale, lb=1.0, ub=1.0, integer=False)]
    x0 = None
    if settings.start is not None:
        x0 = _start_vector(len(m.cost), settings.start, S, R, Mout, Min, workspace, fixed_cols)
        if x0 is not None and settings.window is not None:
            first, last = settings.window
            for key, col in [*S.items(), *R.items(), *Min.items()]:
                if not first <= key[0] <= last:
                    m.lb[col] = m.ub[col] = x0[col]
    return _solve(m, S, R, Mout, Min, stages, settings, constant, scale, start, x0)


def _start_vector(
    n: int,
    plan: StagePlan,
    S: dict[tuple[int, int], int],
    R: dict[tuple[int, int], int],
    Mout: dict[tuple[int, int], int],
    Min: dict[tuple[int, int, int], int],
    workspace: dict[int, tuple[int, float, list[tuple[int, float]]]],
    fixed_cols: list[int],
) -> np.ndarray | None:
    """The columns of ``plan`` (None when it uses a decision the model does not have)."""
    x = np.zeros(n)
    try:
        for s, kept in enumerate(plan.keep):
            for i in kept:
                x[S[s, i]] = 1.0
        for s, again in enumerate(plan.recompute):
            for i in again:
                x[R[s, i]] = 1.0
        for s, reads in enumerate(plan.page_in):
            for i, k in reads.items():
                x[Min[s, i, k]] = 1.0
        for i, k in plan.page_out.items():
            x[Mout[i, k]] = 1.0
    except KeyError:
        return None
    for col, floor, parts in workspace.values():
        x[col] = max([floor, *(w for c, w in parts if x[c] > 0.5)])
    for col in fixed_cols:
        x[col] = 1.0
    return x


def _reference(total: float, parts: list[float]) -> float:
    """A positive magnitude to scale a row by: the keep-all figure, else the largest part, else 1."""
    if total > 0:
        return total
    return max([p for p in parts if p > 0], default=1.0)


# who hears the solver's incumbent and bound while it runs (the CLI's progress line); None: nobody
SOLVER_PROGRESS: ContextVar[Callable[[str], None] | None] = ContextVar("SOLVER_PROGRESS", default=None)


def _reporter(scale: float) -> Callable[[float, float], None] | None:
    listener = SOLVER_PROGRESS.get()
    if listener is None:
        return None

    def report(primal: float, dual: float) -> None:
        cost, bound = primal / scale, dual / scale
        if not np.isfinite(cost) or abs(cost) > 1e300:
            listener(f"MILP: no plan yet, bound {bound:.5g}" if np.isfinite(bound) else "MILP: searching")
            return
        gap = max(0.0, (cost - bound) / max(abs(cost), 1e-300)) if np.isfinite(bound) else float("nan")
        listener(f"MILP: incumbent {cost:.5g}, bound {bound:.5g}, gap {100 * gap:.2f} %")

    return report


def _solve(
    m: _Model,
    S: dict[tuple[int, int], int],
    R: dict[tuple[int, int], int],
    Mout: dict[tuple[int, int], int],
    Min: dict[tuple[int, int, int], int],
    stages: Stages,
    settings: MilpSettings,
    constant: float,
    scale: float,
    start: float,
    x0: np.ndarray | None,
) -> MilpResult:
    n = len(m.cost)
    sizes = {
        "variables": n,
        "binaries": int(sum(m.integer)),
        "rows": len(m.lo),
        "nonzeros": len(m.vals),
    }
    cutoff = None
    if settings.upper_bound is not None and not settings.feasibility_only:
        # warm cutoff: branch and bound prunes every node that cannot beat the known plan
        cutoff = settings.upper_bound * scale * (1 + 1e-7)
    accepted = False
    trace: tuple[tuple[float, float, float], ...] = ()
    if n == 0:
        x: np.ndarray | None = np.zeros(0)
        status, fun, dual = "optimal", constant * scale, constant * scale
        message = "nothing to decide"
    else:
        outcome = highs.solve(
            highs.Problem(
                cost=np.asarray(m.cost),
                lb=np.asarray(m.lb),
                ub=np.asarray(m.ub),
                integer=np.asarray(m.integer),
                rows=np.asarray(m.rows, dtype=np.int64),
                cols=np.asarray(m.cols, dtype=np.int64),
                vals=np.asarray(m.vals, dtype=np.float64),
                lo=np.asarray(m.lo, dtype=np.float64),
                hi=np.asarray(m.hi, dtype=np.float64),
            ),
            time_limit_s=settings.time_limit_s - (time.perf_counter() - start),
            mip_gap=settings.mip_gap,
            seed=settings.seed,
            start=x0,
            objective_bound=cutoff,
            verbose=settings.verbose,
            on_bounds=_reporter(scale),
        )
        x, fun, dual, status, message = (
            outcome.x,
            outcome.objective,
            outcome.dual_bound,
            outcome.status,
            outcome.message,
        )
        accepted = outcome.start_accepted
        trace = tuple((t, p / scale, d / scale) for t, p, d in outcome.trace)
    solve_s = time.perf_counter() - start
    extra = {"start_accepted": accepted, "trace": trace}
    if x is None or fun is None:
        return MilpResult(None, status, None, None, None, solve_s, message=message, **sizes, **extra)
    plan = _extract(x, S, R, Mout, Min, stages)
    if settings.feasibility_only:
        return MilpResult(plan, status, None, None, None, solve_s, message=message, **sizes, **extra)
    objective = float(fun) / scale
    bound = None if dual is None or not np.isfinite(dual) else float(dual) / scale
    if status == "optimal" and bound is None:
        bound = objective
    gap = None if bound is None else max(0.0, (objective - bound) / max(abs(objective), 1e-300))
    return MilpResult(plan, status, objective, bound, gap, solve_s, message=message, **sizes, **extra)


def _extract(
    x: np.ndarray,
    S: dict[tuple[int, int], int],
    R: dict[tuple[int, int], int],
    Mout: dict[tuple[int, int], int],
    Min: dict[tuple[int, int, int], int],
    stages: Stages,
) -> StagePlan:
    on = x > 0.5
    keep: list[set[int]] = [set() for _ in range(stages.count)]
    recompute: list[set[int]] = [set() for _ in range(stages.count)]
    page_in: list[dict[int, int]] = [{} for _ in range(stages.count)]
    for (s, i), col in S.items():
        if on[col]:
            keep[s].add(i)
    for (s, i), col in R.items():
        if on[col]:
            recompute[s].add(i)
    for (s, i, k), col in Min.items():
        if on[col]:
            page_in[s][i] = k
    page_out = {i: k for (i, k), col in Mout.items() if on[col]}
    return StagePlan(
        stages=stages,
        keep=tuple(frozenset(k) for k in keep),
        recompute=tuple(frozenset(r) for r in recompute),
        page_in=tuple(page_in),
        page_out=page_out,
    )
