"""ELF size report (pyelftools) and the does-it-fit check.

For a Cortex-M firmware, every allocated section is placed by its address into the link layout:
flash = code + constants + the load image of .data; static RAM = .data + .bss + .noinit; the
stack is the ``.stack`` reserve the linker script puts at the bottom of RAM. Extra RAM regions
(e.g. CCM) are reported on their own. A host executable is summarised by section flags only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from edgesdk.errors import FitError, ToolchainError
from edgesdk.targets import Layout

STACK_SECTION = ".stack"


@dataclass(frozen=True)
class SectionInfo:
    name: str
    address: int
    size: int
    place: str  # "flash", "ram", "ram+flash" (.data), "stack", an extra region's name, or "other"


@dataclass(frozen=True)
class ExtraRamUse:
    name: str
    used: int
    size: int


@dataclass(frozen=True)
class ElfReport:
    path: Path
    board: str
    target: str
    flash_used: int  # code + constants + .data initial values
    static_ram: int  # .data + .bss + .noinit (without the stack)
    stack_reserved: int
    flash_size: int | None  # the board's, None for host builds
    sram_size: int | None
    extra_ram: tuple[ExtraRamUse, ...]
    sections: tuple[SectionInfo, ...]

    @property
    def ram_used(self) -> int:
        """Static RAM plus the stack reserve: what the linker places in the board's SRAM."""
        return self.static_ram + self.stack_reserved

    @property
    def ram_free(self) -> int | None:
        return None if self.sram_size is None else self.sram_size - self.ram_used

    @property
    def flash_free(self) -> int | None:
        return None if self.flash_size is None else self.flash_size - self.flash_used

    @property
    def fits(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        found = []
        if self.ram_free is not None and self.ram_free < 0:
            found.append(
                f"RAM: {self.ram_used:,} bytes (static data {self.static_ram:,} + stack "
                f"{self.stack_reserved:,}) but the board has {self.sram_size:,}: "
                f"{-self.ram_free:,} bytes too many"
            )
        if self.flash_free is not None and self.flash_free < 0:
            found.append(
                f"flash: {self.flash_used:,} bytes of code and constants but the board has "
                f"{self.flash_size:,}: {-self.flash_free:,} bytes too many"
            )
        for region in self.extra_ram:
            if region.used > region.size:
                found.append(
                    f"{region.name}: {region.used:,} bytes but the region has {region.size:,}: "
                    f"{region.used - region.size:,} bytes too many"
                )
        return found

    def to_dict(self, stack_high_water: int | None = None) -> dict[str, Any]:
        return {
            "elf": str(self.path),
            "board": self.board,
            "target": self.target,
            "flash_used": self.flash_used,
            "flash_size": self.flash_size,
            "static_ram": self.static_ram,
            "stack_reserved": self.stack_reserved,
            "stack_high_water": stack_high_water,
            "ram_used": self.ram_used,
            "sram_size": self.sram_size,
            "extra_ram": [{"name": r.name, "used": r.used, "size": r.size} for r in self.extra_ram],
            "fits": self.fits,
        }

    def format(self, stack_high_water: int | None = None) -> str:
        """A short human-readable table; ``stack_high_water`` comes from a run (painting)."""

        def of(used: int, size: int | None) -> str:
            if size is None:
                return f"{used:>10,} B"
            return f"{used:>10,} B of {size:,} B ({100.0 * used / size:.1f} %)"

        lines = [
            f"{self.board} ({self.target}): {self.path.name}",
            f"  flash        {of(self.flash_used, self.flash_size)}",
            f"  static RAM   {of(self.static_ram, self.sram_size)}",
            f"  stack        {self.stack_reserved:>10,} B reserved"
            + ("" if stack_high_water is None else f", {stack_high_water:,} B used at most"),
            f"  RAM total    {of(self.ram_used, self.sram_size)}",
        ]
        if stack_high_water is not None and self.sram_size is not None:
            peak = self.static_ram + stack_high_water
            lines.append(f"  RAM at peak  {of(peak, self.sram_size)} (static + stack high-water)")
        for region in self.extra_ram:
            lines.append(f"  {region.name:<12} {of(region.used, region.size)}")
        return "\n".join(lines)


def elf_report(path: Path | str, *, board: str, target: str, layout: Layout | None,
               flash_size: int | None = None, sram_size: int | None = None) -> ElfReport:
    """Measure an ELF. With a ``layout`` (Cortex-M) sections are placed by address."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            raw = [
                (s.name, int(s["sh_addr"]), int(s["sh_size"]), int(s["sh_flags"]), s["sh_type"])
                for s in elf.iter_sections()
                if int(s["sh_flags"]) & SH_FLAGS.SHF_ALLOC and int(s["sh_size"]) > 0
            ]
    except Exception as error:  # OSError, or pyelftools' own ELFError types
        raise ToolchainError(f"cannot read the ELF file {path}: {error}") from None

    sections = []
    flash = static = stack = 0
    extra = {region.name: 0 for region in layout.extra_ram} if layout else {}
    for name, address, size, flags, kind in raw:
        loaded = kind != "SHT_NOBITS"
        if layout is None:
            writable = bool(flags & SH_FLAGS.SHF_WRITE)
            place = ("ram+flash" if loaded else "ram") if writable else "flash"
        elif name == STACK_SECTION:
            place = "stack"
        else:
            region = layout.region_of(address)
            if region is None:
                place = "other"
            elif region is layout.flash:
                place = "flash"
            elif region is layout.ram:
                place = "ram+flash" if loaded else "ram"
            else:
                place = region.name
        if place == "stack":
            stack += size
        if place in ("flash", "ram+flash"):
            flash += size
        if place in ("ram", "ram+flash"):
            static += size
        if place in extra:
            extra[place] += size
            if loaded:
                flash += size
        sections.append(SectionInfo(name, address, size, place))
    return ElfReport(
        path=path,
        board=board,
        target=target,
        flash_used=flash,
        static_ram=static,
        stack_reserved=stack,
        flash_size=flash_size,
        sram_size=sram_size,
        extra_ram=tuple(
            ExtraRamUse(region.name, extra[region.name], region.size_bytes) for region in layout.extra_ram
        )
        if layout
        else (),
        sections=tuple(sections),
    )


def check_fit(report: ElfReport) -> None:
    """Raise FitError, saying by how much and what to try, when the firmware is too big."""
    problems = report.problems()
    if not problems:
        return
    advice = []
    if report.ram_free is not None and report.ram_free < 0:
        over = -report.ram_free
        advice.append(
            f"give the planner a RAM budget at least {over:,} bytes smaller (`--budget`), train fewer "
            "layers, or reserve less stack ([firmware] stack_bytes in the board file, if the measured "
            "high-water mark allows)"
        )
    if report.flash_free is not None and report.flash_free < 0:
        advice.append("keep weights in int8 rather than float, or choose a board with more flash")
    if any(region.used > region.size for region in report.extra_ram):
        advice.append("move data out of the extra RAM region back to the main SRAM")
    what, tries = "; ".join(problems), "; ".join(advice)
    raise FitError(f"the firmware does not fit {report.board}: {what}. Try: {tries}.")
