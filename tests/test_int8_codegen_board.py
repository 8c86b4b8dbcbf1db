"""An int8 training runtime on the emulated STM32F746 (Cortex-M7, QEMU mps2-an500): the same bits
as the host build and the reference, and the parameters it saved, written back into the .tflite by
``edgesdk export``, make TFLite Micro compute exactly the device's inference output.

The project trains the small CNN fixture (every layer, stochastic rounding, batch 2) on
pseudo-random batches quantized on the device. Built by PlatformIO from the emulated env and by
arm-none-eabi-gcc directly; the real-board build must compile and fit.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from codegen_support import FIXTURES
from edgesdk.cli import main
from edgesdk.codegen.data import pseudo_random_batches
from edgesdk.export import export_parameters
from edgesdk.pipeline import ProjectOptions, compile_project, generate_project
from edgesdk.reference.int8_graph import quantize_input
from edgesdk.testing.tflm import run_tflm
from edgesdk.toolchain import run_firmware
from test_int8_codegen import build_and_compare, device_output, image_bytes

MODEL = FIXTURES / "small_cnn_int8.tflite"
STEPS = 3


@pytest.fixture(scope="module")
def board_project(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    options = ProjectOptions(
        trainable="all", optimizer="sgd", lr=0.05, batch=2, steps=STEPS, report_params=True,
        precision="int8", int8_training="stochastic,fused",
    )
    return generate_project(MODEL, "stm32f746", tmp_path_factory.mktemp("stm32") / "project", options)


@pytest.fixture(scope="module")
def emulated(board_project):  # type: ignore[no-untyped-def]
    built = compile_project(board_project.directory, "emulated")
    assert built.tool == "platformio"
    run = run_firmware(built.firmware).check()
    assert run.results["port.name"] == "qemu" and run.results["counter.unit"] == "instructions"
    return run.results


def _same(a, b, what: str) -> None:  # type: ignore[no-untyped-def]
    for key in ("step.loss", "params", "infer.output"):
        assert a.raw[key] == b.raw[key] if key != "step.loss" else a.all(key) == b.all(key), f"{what}: {key}"


def test_emulated_cortex_m7_equals_host_and_reference(board_project, emulated, tmp_path):  # type: ignore[no-untyped-def]
    host = run_firmware(compile_project(board_project.directory, "host").firmware).check().results
    _same(host, emulated, "PlatformIO build in QEMU")
    direct = compile_project(board_project.directory, "emulated", use_platformio=False)
    assert direct.tool == "arm-none-eabi-gcc"
    _same(host, run_firmware(direct.firmware).check().results, "arm-none-eabi-gcc build in QEMU")
    # and the host build is the reference's bits (the same options, built as a host project)
    _, reference_run, _ = build_and_compare(
        MODEL, tmp_path / "host", None, update="stochastic,fused", batch=2, lr=0.05  # type: ignore[arg-type]
    )
    _same(reference_run, emulated, "host project")


def test_exported_model_runs_in_tflite_micro_as_the_device_inferred(board_project, emulated, tmp_path):  # type: ignore[no-untyped-def]
    image = tmp_path / "from_device.bin"
    image.write_bytes(image_bytes(emulated))
    exported = export_parameters(MODEL, image)
    assert sum(p.changed for p in exported.parameters) > 0  # training moved weights
    graph = board_project.graph
    x = pseudo_random_batches(board_project.facts, STEPS)[-1][0]
    x_int8 = quantize_input(x, graph.source.tensor(graph.value(graph.input).tensor))
    tflm = run_tflm(exported.blob, x_int8)[graph.source.outputs[0]]
    device = device_output(board_project, emulated)
    assert np.array_equal(tflm.reshape(-1), device.reshape(-1))
    # the original model does not give the device's output (the comparison can fail)
    assert not np.array_equal(run_tflm(MODEL.read_bytes(), x_int8)[graph.source.outputs[0]].reshape(-1),
                              device.reshape(-1))
    # the command line does the same
    out = tmp_path / "trained.tflite"
    result = CliRunner().invoke(main, ["export", str(MODEL), "--params", str(image), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == exported.blob


def test_real_board_build_compiles_and_fits(board_project):  # type: ignore[no-untyped-def]
    report = compile_project(board_project.directory, "board").report()
    assert report.fits
    memory = board_project.manifest.data["memory"]
    assert report.static_ram >= memory["arena_bytes"] + memory["state_bytes"]


def test_instructions_are_counted(emulated):  # type: ignore[no-untyped-def]
    assert emulated["step.counter"] > 10_000 and 0 < emulated["stack.high_water"] < emulated["stack.size"]
