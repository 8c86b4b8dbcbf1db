"""The kernels compute the same float32 bits on the host and on the Cortex-M stand-ins in QEMU.

tests/c/kernel_bits.c runs a battery of kernels (layers forward and backward, pools, softmax,
losses, three optimizers over five steps, es_expf / es_logf sweeps) on deterministic inputs and
reports a hash of every output's bits. It is built with edgesdk.toolchain for the host (gcc) and for
the emulated stm32f746 (Cortex-M7, fpv5-sp-d16) and nrf52840 (Cortex-M4F, fpv4-sp-d16), and the
hashes must agree exactly. This holds because every build disables FMA contraction and the
kernels call no libm transcendental (math_f32.c instead; glibc and newlib differ).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware

BATTERY = Path(__file__).resolve().parent / "c" / "kernel_bits.c"


def battery_hashes(board: str, target: str, out_dir: Path) -> dict[str, str]:
    firmware = compile_firmware([BATTERY, *kernel_sources()], board=board, target=target,
                                out_dir=out_dir, name="kernel_bits")
    run = run_firmware(firmware, timeout_s=300).check()
    assert run.results["errors"] == 0
    return {key: value for key, value in run.results.raw.items() if key.startswith("bits.")}


@pytest.fixture(scope="module")
def host_hashes(tmp_path_factory) -> dict[str, str]:
    return battery_hashes("host", "host", tmp_path_factory.mktemp("host"))


@pytest.mark.parametrize("board", ["stm32f746", "nrf52840"])
def test_emulated_cortex_m_gives_the_host_bits(host_hashes, board, tmp_path):
    assert len(host_hashes) >= 30
    emulated = battery_hashes(board, "emulated", tmp_path)
    differing = sorted(key for key in host_hashes if emulated.get(key) != host_hashes[key])
    assert emulated.keys() == host_hashes.keys()
    assert not differing, f"{board} differs from the host in {differing}"
