"""Linker scripts rendered from a board's memory sizes (templates/linker/cortex_m.ld.j2)."""

from __future__ import annotations

from edgesdk.boards import Board
from edgesdk.codegen.templating import render
from edgesdk.targets import Layout, Target


def render_linker_script(board: Board, target: Target, layout: Layout) -> str:
    return render(
        "linker/cortex_m.ld.j2",
        board=board,
        target=target.value,
        flash_origin=layout.flash.origin,
        flash_bytes=layout.flash.size_bytes,
        ram_origin=layout.ram.origin,
        sram_bytes=layout.ram.size_bytes,
        stack_bytes=layout.stack_bytes,
        extra_ram=[
            {"name": region.name, "origin": region.origin, "size_bytes": region.size_bytes}
            for region in layout.extra_ram
        ],
    )
