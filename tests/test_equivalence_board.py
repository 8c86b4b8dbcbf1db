"""The same generated project gives the same bits on the host and on the emulated boards.

The emulated STM32F746 firmware (Cortex-M7, QEMU mps2-an500) is built by PlatformIO from the
project's emulated env and, separately, by arm-none-eabi-gcc directly; the nRF52840 one
(Cortex-M4F, mps2-an386) by arm-none-eabi-gcc. Each runs three training steps and one
inference; every loss, every trained parameter and every output must have exactly the host
build's float32 bits (all builds use -ffp-contract=off, and the runtime's own exp/log/pow).
The real-board sources must also compile, link and fit with the real board's flags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from codegen_support import compare_with_reference, every_op_classifier, every_op_regressor, float_bits
from edgesdk.pipeline import ProjectOptions, compile_project, generate_project
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.protocol import Results

STEPS = 3


def _bits(results: Results) -> dict[str, np.ndarray]:
    return {
        "step.loss": float_bits(results.all("step.loss")),
        "params": float_bits(results["params"]),
        "infer.output": float_bits(results["infer.output"]),
    }


def _assert_same_bits(host: Results, other: Results, what: str) -> None:
    host_bits, other_bits = _bits(host), _bits(other)
    for key, bits in host_bits.items():
        assert bits.shape == other_bits[key].shape, key
        differ = int(np.count_nonzero(bits != other_bits[key]))
        assert differ == 0, f"{what}: {differ} of {bits.size} values of {key} differ from the host build"


@pytest.fixture(scope="module")
def stm32_project(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("stm32") / "project"
    options = ProjectOptions(trainable="all", optimizer="adam", batch=2, steps=STEPS, report_params=True)
    return generate_project(every_op_classifier(), "stm32f746", out, options)


def test_stm32f746_emulated_is_bit_identical_to_host(stm32_project) -> None:  # type: ignore[no-untyped-def]
    project = stm32_project
    assert project.platformio is not None
    host = run_firmware(compile_project(project.directory, "host").firmware).check()
    comparison = compare_with_reference(project, host.results, STEPS)
    assert comparison.worst_update <= 2e-3 and comparison.worst_loss <= 1e-4

    pio = compile_project(project.directory, "emulated")  # PlatformIO is installed: it builds
    assert pio.tool == "platformio"
    emulated = run_firmware(pio.firmware).check()
    assert emulated.results["port.name"] == "qemu"
    assert emulated.results["counter.unit"] == "instructions"
    assert emulated.results["step.counter"] > 0
    assert 0 < emulated.results["stack.high_water"] < emulated.results["stack.size"]
    _assert_same_bits(host.results, emulated.results, "PlatformIO build in QEMU mps2-an500")

    direct = compile_project(project.directory, "emulated", use_platformio=False)
    assert direct.tool == "arm-none-eabi-gcc"
    again = run_firmware(direct.firmware).check()
    _assert_same_bits(host.results, again.results, "arm-none-eabi-gcc build in QEMU mps2-an500")


def test_stm32f746_real_board_sources_compile_and_fit(stm32_project) -> None:  # type: ignore[no-untyped-def]
    built = compile_project(stm32_project.directory, "board")
    report = built.report()
    assert built.tool == "arm-none-eabi-gcc"
    assert report.fits and report.sram_size == 327_680
    # the arena, parameters and optimizer state are static RAM; the weights stay in flash
    memory = stm32_project.manifest.data["memory"]
    assert report.static_ram >= memory["arena_bytes"] + memory["state_bytes"]
    assert report.flash_used >= sum(w.count for w in stm32_project.model.weights) * 4


def test_nrf52840_emulated_is_bit_identical_to_host(tmp_path: Path) -> None:
    options = ProjectOptions(trainable="all", optimizer="momentum", steps=STEPS, report_params=True)
    project = generate_project(every_op_regressor(), "nrf52840", tmp_path / "project", options)
    host = run_firmware(compile_project(project.directory, "host").firmware).check()
    emulated = run_firmware(
        compile_project(project.directory, "emulated", use_platformio=False).firmware
    ).check()
    assert emulated.results["port.name"] == "qemu"
    _assert_same_bits(host.results, emulated.results, "arm-none-eabi-gcc build in QEMU mps2-an386")
