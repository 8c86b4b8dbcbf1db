"""Build and run firmware: toolchain discovery, compilation for a board, runs on the host or in QEMU,
the result-line protocol, ELF size reports, and offline PlatformIO projects.

Typical use::

    from edgesdk.build import compile_firmware, run_firmware

    fw = compile_firmware(["main.c"], board="stm32f746", out_dir="out")   # emulated stand-in
    run = run_firmware(fw).check()
    print(run.results["loss"], fw.report().format(run.results["stack.high_water"]))
"""

from edgesdk.build.compiler import (
    Firmware,
    compile_firmware,
    kernel_sources,
    port_sources,
    runtime_include_dir,
)
from edgesdk.build.elf import ElfReport, check_fit, elf_report
from edgesdk.build.project import compile_project, project_sources
from edgesdk.build.protocol import Results, parse_results
from edgesdk.build.runner import RunResult, qemu_command, run_firmware
from edgesdk.build.targets import Layout, Target, layout_for
from edgesdk.build.toolchain import Tool, find_tool, require, survey

__all__ = [
    "ElfReport",
    "Firmware",
    "Layout",
    "RunResult",
    "Results",
    "Target",
    "Tool",
    "check_fit",
    "compile_firmware",
    "compile_project",
    "elf_report",
    "find_tool",
    "kernel_sources",
    "layout_for",
    "parse_results",
    "port_sources",
    "project_sources",
    "qemu_command",
    "require",
    "run_firmware",
    "runtime_include_dir",
    "survey",
]
