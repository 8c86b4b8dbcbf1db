"""Build and run firmware: toolchain discovery, compilation for a board, runs on the host or in QEMU,
the result-line protocol, ELF size reports, and offline PlatformIO projects.

Typical use::

    from edgesdk.toolchain import compile_firmware, run_firmware

    fw = compile_firmware(["main.c"], board="stm32f746", out_dir="out")   # emulated stand-in
    run = run_firmware(fw).check()
    print(run.results["loss"], fw.report().format(run.results["stack.high_water"]))
"""

from edgesdk.targets import Layout, Target, layout_for
from edgesdk.toolchain.compiler import (
    Firmware,
    compile_firmware,
    kernel_sources,
    port_sources,
    runtime_include_dir,
)
from edgesdk.toolchain.directory import compile_directory, project_sources
from edgesdk.toolchain.elf import ElfReport, check_fit, elf_report
from edgesdk.toolchain.protocol import Results, parse_results
from edgesdk.toolchain.runner import RunResult, qemu_command, run_firmware
from edgesdk.toolchain.tools import Tool, find_tool, require, survey

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
    "compile_directory",
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
