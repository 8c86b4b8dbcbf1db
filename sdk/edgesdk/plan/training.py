"""The planner's view of a training graph, and the checks a schedule must pass before it runs.

:func:`planner_dict` is :meth:`edgesdk.train.graph.TrainingGraph.to_planner_dict` plus each
node's kernel family (the board's cycles-per-MAC table key); :func:`plan_graph` makes it a
:class:`~edgesdk.plan.graph.PlanGraph`. An int8 graph's input batch in the arena is a node of
that view (``TrainingGraph.input_node``): schedules name it like any node.

:func:`check_schedule` holds a schedule -- made by the planner now or loaded from a plan.json --
to both sides' rules: the planner's simulator (every input in RAM, frees, pager slots, arena
overlaps, budget) and the training graph's own (:meth:`TrainingGraph.check_schedule`: nothing
reads a parameter after its update; the input node first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgesdk.errors import PlanError
from edgesdk.plan.graph import PlanGraph, graph_from_dict
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.simulate import ScheduleError, Simulation, simulate

if TYPE_CHECKING:  # the training stage is upstream: imported only for types
    from edgesdk.boards import Board
    from edgesdk.train.graph import TrainingGraph


def kernel_family(kernel: str) -> str | None:
    """The board cost table's family for a kernel (e.g. conv_2d_int8_fwd -> conv2d_int8)."""
    for prefix, family in (
        ("depthwise_conv_2d", "depthwise_conv2d"),
        ("conv_2d", "conv2d"),
        ("fully_connected", "fully_connected"),
    ):
        if kernel.startswith(prefix):
            int8 = "int8" in kernel and kernel.endswith("_fwd")
            return f"{family}_{'int8' if int8 else 'f32'}"
    return None


def planner_dict(graph: TrainingGraph) -> dict[str, Any]:
    """The training step in the graph JSON shape (docs/planner.md), with kernel families."""
    exported = graph.to_planner_dict()
    kernels = {node.name: node.compute.value for node in graph.scheduled_nodes}
    for entry in exported["nodes"]:
        family = kernel_family(kernels[entry["name"]])
        if family is not None:
            entry["family"] = family
    return exported


def plan_graph(graph: TrainingGraph) -> PlanGraph:
    return graph_from_dict(planner_dict(graph), source=graph.name)


def check_schedule(
    graph: TrainingGraph, board: Board, schedule: Schedule, budget_bytes: int | None = None
) -> Simulation:
    """Replay ``schedule`` for ``graph`` on ``board``; PlanError naming the broken rule if any."""
    planned = plan_graph(graph)
    try:
        simulation = simulate(planned, board, schedule.instructions, budget_bytes=budget_bytes)
    except ScheduleError as error:
        raise PlanError(f"the schedule does not fit this training graph and board: {error}") from None
    runs = [ins.node for ins in schedule.instructions if ins.op in ("compute", "recompute")]
    try:
        graph.check_schedule(runs)
    except ValueError as error:
        raise PlanError(f"the schedule would change the training step's results: {error}") from None
    return simulation
