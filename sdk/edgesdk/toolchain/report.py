"""Planned against measured: the build report of a planned project and the pager comparison of a run.

- :func:`plan_lines`: what the plan decided and what it implies for the flash (paged bytes and
  erases per step, the storage's lifetime in training steps, from the plan's cost model and from
  the pager model that replays the exact placement).
- :func:`ram_lines`: RAM planned (the plan's resident state and arena, against the budget) beside
  RAM measured in the linked firmware (symbol sizes from the ELF: ``es_arena``, the model's state
  arrays, the pager's state; static RAM and stack from the ELF report) against the board's SRAM.
- :func:`pager_lines`: the counters the firmware printed (``pager.<tier>.*``) beside the ones
  :mod:`edgesdk.codegen.pager_model` predicted for the same number of steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from edgesdk.toolchain.elf import ElfReport
from edgesdk.toolchain.protocol import Results

COUNTERS = (
    ("bytes_programmed", "bytes programmed"),
    ("bytes_read", "bytes read"),
    ("erases", "sector erases"),
    ("page_outs", "page-outs"),
    ("page_ins", "page-ins"),
    ("relocations", "relocations"),
    ("bytes_relocated", "bytes relocated"),
)


def _b(value: float | None) -> str:
    return "-" if value is None else f"{int(value):,} B"


def _steps(value: float | None) -> str:
    if value is None or value == float("inf"):
        return "unlimited"
    if value >= 1e6:
        return f"{value / 1e6:.3g} million"
    return f"{value:,.0f}"


# ---------------------------------------------------------------- the plan


def plan_lines(plan: Mapping[str, Any], board_sram: int) -> list[str]:
    """The plan's decisions and flash figures, a few lines."""
    gap = "" if plan.get("gap") is None else f", gap {100 * plan['gap']:.2f} %"
    lines = [
        f"plan ({plan['kind']}): {plan['method']} ({plan['status']}{gap}, {plan['solve_s']:.1f} s) for a "
        f"RAM budget of {plan['budget_bytes']:,} B of {board_sram:,} B SRAM; {plan['instructions']} "
        f"instructions per step, {plan['recomputations']} recomputations",
        f"  arena       {plan['arena_bytes']:,} B planned = {plan['generated_train_arena_bytes']:,} B "
        f"generated for training; inference uses {plan['generated_infer_arena_bytes']:,} B of it",
    ]
    for tier in plan["tiers"]:
        cycles = tier.get("erase_cycles")
        lines += [
            f"  paging      {tier['name']} ({tier['region_bytes'] // 1024} KB swap region, "
            f"{tier['sectors']} sectors of {tier['sector_bytes']:,} B, {len(tier['slots'])} pager slot(s)): "
            f"per step {tier['planned_out_bytes']:,} B out, {tier['planned_in_bytes']:,} B in",
            f"  erases      {tier['planned_erases_per_step']:.2f} per step planned, "
            f"{tier['model_erases_per_step']:.2f} by the pager model (after its first step)",
            f"  lifetime    {_steps(tier['planned_lifetime_steps'])} training steps planned, "
            f"{_steps(tier['model_lifetime_steps'])} by the pager model, before a sector of {tier['name']} "
            f"reaches its erase limit" + ("" if cycles is None else f" ({cycles:,} cycles)"),
        ]
    if not plan["tiers"]:
        lines.append("  paging      none")
    return lines


# ---------------------------------------------------------------- RAM, planned and measured


def symbol_sizes(elf: Path, names: Sequence[str]) -> dict[str, int]:
    """Sizes of the named data symbols in ``elf`` (missing ones: absent from the result)."""
    wanted = set(names)
    found: dict[str, int] = {}
    with elf.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for symbol in section.iter_symbols():
                if symbol.name in wanted and symbol["st_info"]["type"] == "STT_OBJECT":
                    found[symbol.name] = int(symbol["st_size"])
    return found


@dataclass(frozen=True)
class RamFigures:
    arena: int | None
    state: int | None  # parameters, gradients, optimizer state, step counter
    io: int | None  # the demo's input / label / output buffers
    pager: int | None  # pagers, slot tables, erase counters, scratch, device state
    static: int  # all static RAM (ELF report)
    stack: int  # reserved
    sram: int | None


def measure_ram(report: ElfReport, symbols: Mapping[str, Sequence[str]]) -> RamFigures:
    groups = {group: list(names) for group, names in symbols.items()}
    sizes = symbol_sizes(report.path, [n for names in groups.values() for n in names])

    def total(group: str) -> int | None:
        names = groups.get(group, [])
        present = [sizes[n] for n in names if n in sizes]
        return sum(present) if present else None

    return RamFigures(
        arena=total("arena"),
        state=total("state"),
        io=total("io"),
        pager=total("pager"),
        static=report.static_ram,
        stack=report.stack_reserved,
        sram=report.sram_size,
    )


def ram_lines(plan: Mapping[str, Any] | None, memory: Mapping[str, Any], ram: RamFigures,
              stack_high_water: int | None = None) -> list[str]:
    """Planned RAM (the plan's accounting) beside measured RAM (the linked firmware)."""
    planned_arena = plan["arena_bytes"] if plan else memory["arena_bytes"]
    planned_resident = plan["resident_bytes"] if plan else None
    known = sum(v for v in (ram.arena, ram.state, ram.io, ram.pager) if v is not None)
    rows = [
        ("arena", _b(planned_arena), _b(ram.arena), "es_arena"),
        ("resident state", _b(planned_resident), _b((ram.state or 0) + (ram.io or 0)),
         "parameters, gradients, optimizer state; input and labels"),
        ("pager state", "-", _b(ram.pager), "pagers, slots, erase counters, scratch"),
        ("other static", "-", _b(ram.static - known), "runtime and port"),
        ("stack", "-", f"{ram.stack:,} B", "reserved by the linker script"
         + ("" if stack_high_water is None else f"; {stack_high_water:,} B used at most")),
    ]
    lines = [f"  {'RAM':<16} {'planned':>12} {'measured':>14}"]
    lines += [f"  {name:<16} {planned:>12} {measured:>14}  {note}" for name, planned, measured, note in rows]
    used = ram.static + ram.stack
    planned_total = plan["peak_ram_bytes"] if plan else None
    of = "" if not ram.sram else f" of {ram.sram:,} B SRAM ({100 * used / ram.sram:.1f} %)"
    budget = f" (budget {plan['budget_bytes']:,} B)" if plan else ""
    lines.append(f"  {'total':<16} {_b(planned_total):>12} {used:>12,} B  static + stack{of}{budget}")
    return lines


# ---------------------------------------------------------------- pager counters, measured and predicted


def pager_lines(plan: Mapping[str, Any], results: Results) -> tuple[list[str], bool]:
    """The firmware's pager counters beside the prediction; True when every one matches."""
    lines: list[str] = []
    all_equal = True
    steps = results.values.get("train.steps")
    for tier in plan["tiers"]:
        name, predicted = tier["name"], tier["predicted_run"]
        prefix = f"pager.{name}."
        if prefix + "bytes_programmed" not in results.values:
            lines.append(f"  pager {name}: the firmware reported no counters")
            all_equal = False
            continue
        same_steps = steps == predicted["steps"]
        head = f"pager {name}, {steps} steps" + ("" if same_steps else f" (predicted: {predicted['steps']})")
        lines.append(f"  {head:<26} {'measured':>12} {'predicted':>12}")
        for key, label in COUNTERS:
            measured, expected = results.values.get(prefix + key), predicted[key]
            ok = measured == expected
            all_equal &= ok
            shown = "-" if measured is None else f"{measured:,}"
            lines.append(f"    {label:<22} {shown:>12} {expected:>12,}  {'=' if ok else 'DIFFERENT'}")
        sectors = results.values.get(prefix + "sector_erases")
        ok = sectors == predicted["sector_erases"]
        all_equal &= ok
        spread = "" if not sectors else f" (min {min(sectors)}, max {max(sectors)} per sector)"
        lines.append(f"    {'erases per sector':<22} {'equal' if ok else 'DIFFERENT':>12}{spread}")
        violations = results.values.get(f"swap.{name}.violations", 0)
        all_equal &= violations == 0
        lines.append(f"    {'NOR-rule violations':<22} {violations:>12}")
        all_equal &= same_steps
    return lines, all_equal
