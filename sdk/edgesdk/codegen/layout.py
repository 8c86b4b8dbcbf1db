"""The static arena layout of generated code: :mod:`edgesdk.plan.arena` (one implementation for
the planner's figures and the generated C); re-exported here for the code generator's readers."""

from edgesdk.plan.arena import (
    DEFAULT_ALIGNMENT,
    ArenaLayout,
    Lifetime,
    Placement,
    check_layout,
    combine,
    given_layout,
    greedy_layout,
    lifetime_peak,
    render_layout,
)

__all__ = [
    "DEFAULT_ALIGNMENT",
    "ArenaLayout",
    "Lifetime",
    "Placement",
    "check_layout",
    "combine",
    "given_layout",
    "greedy_layout",
    "lifetime_peak",
    "render_layout",
]
