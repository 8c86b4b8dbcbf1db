"""A memory timeline of one training step: RAM after every instruction, split by kind."""

from __future__ import annotations

from pathlib import Path

from edgesdk.boards import Board
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.simulate import KINDS, simulate

_COLORS = {
    "resident": "#9e9e9e",
    "activations": "#4c72b0",
    "recomputed": "#dd8452",
    "paged_in": "#55a868",
    "workspace": "#c44e52",
}
_LABELS = {
    "resident": "resident state",
    "activations": "computed",
    "recomputed": "recomputed",
    "paged_in": "paged in",
    "workspace": "workspace",
}


def plot_timeline(graph: PlanGraph, board: Board, schedule: Schedule, path: str | Path) -> Path:
    """Write the timeline as PNG or SVG (by the file name's suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = simulate(graph, board, schedule.instructions)
    steps = list(range(len(sim.timeline)))
    layers = [[point[kind] / 1024 for point in sim.timeline] for kind in KINDS]
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=120)
    ax.set_axisbelow(True)
    ax.stackplot(
        steps,
        layers,
        labels=[_LABELS[k] for k in KINDS],
        colors=[_COLORS[k] for k in KINDS],
        step="post",
        linewidth=0,
    )
    ax.axhline(schedule.budget_bytes / 1024, color="black", linestyle="--", linewidth=1, label="budget")
    top = max(schedule.budget_bytes, schedule.figures.peak_ram_bytes) / 1024 * 1.12
    _shade_phases(ax, graph, schedule, top)
    outs = [i for i, ins in enumerate(schedule.instructions) if ins.op == "page_out"]
    ins_ = [i for i, ins in enumerate(schedule.instructions) if ins.op == "page_in"]
    if outs:
        ax.plot(outs, [top * 0.9] * len(outs), "v", color="#6a3d9a", markersize=6, label="page-out")
    if ins_:
        ax.plot(ins_, [top * 0.9] * len(ins_), "^", color="#2ca02c", markersize=6, label="page-in")
    f = schedule.figures
    ax.set_title(
        f"{schedule.graph} on {schedule.board}: peak {f.peak_ram_bytes / 1024:.1f} KB of "
        f"{schedule.budget_bytes / 1024:.1f} KB, {f.time_s:.3g} s and {f.energy_j:.3g} J per step, "
        f"{f.recomputations} recomputations, {sum(f.paged_out_bytes.values()) / 1024:.1f} KB paged out",
        fontsize=9,
    )
    ax.set_xlabel("instruction")
    ax.set_ylabel("RAM (KB)")
    ax.set_xlim(0, max(len(steps) - 1, 1))
    ax.set_ylim(0, top)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _shade_phases(ax, graph: PlanGraph, schedule: Schedule, top: float) -> None:  # noqa: ANN001
    """A light background for the forward pass; the rest is backward and updates."""
    kinds = {n.name: n.kind for n in graph.nodes}
    first_back = next(
        (
            i
            for i, ins in enumerate(schedule.instructions)
            if ins.op == "compute" and kinds[ins.node] != "forward"
        ),
        len(schedule.instructions) - 1,
    )
    ax.axvspan(0, first_back, color="#e8f0fb", zorder=0)
    ax.axvspan(first_back, len(schedule.instructions) - 1, color="#fbeee6", zorder=0)
    ax.text(first_back / 2, top * 0.97, "forward", ha="center", va="top", fontsize=8, color="#555555")
    rest = (first_back + len(schedule.instructions) - 1) / 2
    ax.text(
        rest, top * 0.97, "loss, backward and updates", ha="center", va="top", fontsize=8, color="#555555"
    )
