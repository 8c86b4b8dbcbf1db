"""MobileNetV2-alpha-0.35 (96x96, the fixture) training in int8 on the emulated STM32F746: peak SRAM
and instructions per training step, against MCUNetV3's 141 KB.

For each trainable selection the int8 training runtime is generated (edgesdk.codegen, keep-all
arena unless a budget is given), linked with a small firmware (benchmarks/int8_memory_main.c: the
input batch in RAM, as a sensor buffer, two steps through es_train_step_int8) against the real
board's memory map (linker script with its 320 KB of SRAM), and run in QEMU (mps2-an500,
Cortex-M7). Peak SRAM = the ELF's static RAM (.data + .bss: the arena, which also holds the input
batch, the fused updates' scratch and the rings of fused convolution -> depthwise nodes,
parameters, master copies, runtime) + the stack high-water mark measured by the firmware.
Instructions are QEMU's (-icount), not M7 cycles. MACs are the training graph's (forward, backward
and update). Below the table: each selection's one-node floor, the largest inputs + output +
workspace of a forward node of its training graph (non-resident buffers: activations and the
int8 input batch, which the planner places too), and which node.

    python benchmarks/int8_memory.py [--steps 2] [--budget 200KB] [--update qas,nearest,fused,nofuse]
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import click
from edgesdk.boards import Board, load_board
from edgesdk.codegen.swap import with_swap_region
from edgesdk.errors import PlanError
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, generate_project
from edgesdk.plan.project import PlanRequest
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.units import parse_size
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.compiler import compile_firmware, kernel_sources
from edgesdk.train.graph import Stage, TrainingGraph, ValueKind
from edgesdk.train.spec import PARAMETERIZED, layer_label

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "fixtures" / "mobilenetv2_035_96.tflite"
MAIN = Path(__file__).resolve().parent / "int8_memory_main.c"
MCUNETV3_KB = 141


def plans() -> dict[str, dict[str, dict[str, object]]]:
    """Trainable selections (sparse-update files) by name. TinyEngine-like: biases of the last
    blocks, weights of a few late layers at channel ratios, the classifier whole."""
    graph = load_model(MODEL)
    layers = [layer_label(op) for op in graph.ops if op.kind in PARAMETERIZED]
    last_blocks = {label: {"bias": True} for label in layers[35:]}
    sparse = dict(last_blocks)
    sparse.update({
        "conv_2d_52": {"weight_ratio": 0.25, "bias": True},
        "conv_2d_56": {"weight_ratio": 0.5, "bias": True},
        "conv_2d_60": {"weight_ratio": 0.25, "bias": True},
        "fully_connected_63": {"weight_ratio": 1.0, "bias": True},
    })
    return {
        "classifier only (last:1)": {layers[-1]: {"weight_ratio": 1.0, "bias": True}},
        "biases of the last 18 layers": last_blocks,
        "TinyEngine-like sparse": sparse,
    }


def forward_floor(graph: TrainingGraph) -> tuple[int, str]:
    """The largest inputs + output + workspace of one forward node of the training step, counting
    only the buffers the planner places (non-resident: activations and the int8 input batch, not
    the parameters): no schedule of these kernels goes below it."""
    best = (0, "")
    for node in graph.nodes_by_stage(Stage.FORWARD):
        names = {*node.inputs, *([node.output] if node.output is not None else [])}
        placed = [graph.value(name) for name in names]
        live = sum(v.nbytes for v in placed if not v.resident and v.kind is not ValueKind.CONSTANT)
        best = max(best, (live + node.workspace_bytes, node.name))
    return best


def emulated_board(project) -> Board:  # type: ignore[no-untyped-def]
    """The STM32F746 as its QEMU stand-in links it: with the simulated flash of a plan that pages
    outside the board's RAM (as the device's external flash)."""
    board = load_board("stm32f746")
    swap = project.manifest.data.get("emulated_swap")
    return board if swap is None else with_swap_region(board, int(swap["origin"]), int(swap["size_bytes"]))


def plan_words(schedule: Schedule) -> str:
    """What a planned step does besides computing every node once."""
    figures = schedule.figures
    paged = sum(figures.paged_out_bytes.values())
    return (f"plan ({schedule.kind}): {figures.recomputations} recomputations, {paged:,} B paged out "
            f"per step, arena {figures.arena_bytes:,} B")


def macro(project, name: str) -> int:  # type: ignore[no-untyped-def]
    return int(next(m.value for m in project.model.header_macros if m.name == name))


def commit() -> str:
    command = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


@click.command()
@click.option("--steps", default=2, show_default=True, help="Training steps the firmware runs.")
@click.option("--budget", default=None, help="Plan the step for this RAM budget (edgesdk build --budget).")
@click.option("--update", default="qas,nearest,fused", show_default=True,
              help="int8 update options (add nofuse to keep every fusable pair of nodes apart).")
def main(steps: int, budget: str | None, update: str) -> None:
    click.echo(f"commit {commit()}; {MODEL.name} int8 training on the emulated stm32f746 (QEMU mps2-an500, "
               f"real board's 320 KB SRAM map), batch 1, updates {update}")
    floors = []
    header = (f"{'trainable':30} {'arena':>8} {'state':>8} {'other':>6} {'stack':>6} "
              f"{'peak SRAM':>10} {'vs 141KB':>8} {'instr/step':>12} {'MACs/step':>11} {'instr/MAC':>9} "
              f"{'fwd instr/MAC':>13}")
    click.echo(header)
    click.echo("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for index, (name, plan) in enumerate(plans().items()):
            plan_file = work / f"plan{index}.json"
            plan_file.write_text(json.dumps(plan))
            request = None
            if budget is not None:
                request = PlanRequest(budget_bytes=parse_size(budget), objective="time", time_limit_s=60.0)
            options = ProjectOptions(trainable=f"sparse:{plan_file}", optimizer="sgd", lr=0.01,
                                     precision="int8", int8_training=update, plan=request)
            try:
                project = generate_project(MODEL, "stm32f746", work / f"p{index}", options)
            except PlanError as error:  # the budget is too small for this selection: say so, go on
                click.echo(f"{name:30} no plan: {error}")
                continue
            src = project.directory / "src"
            firmware = compile_firmware(
                [src / "model.c", MAIN, *kernel_sources()], board=emulated_board(project), target="emulated",
                out_dir=work / f"fw{index}", include_dirs=[src], defines=[f"BENCH_STEPS={steps}"],
            )
            report = firmware.report()
            results = run_firmware(firmware).check().results
            arena, state = macro(project, "ES_MODEL_ARENA_BYTES"), macro(project, "ES_MODEL_STATE_BYTES")
            other = report.static_ram - arena - state
            stack = int(results["stack.high_water"])
            peak = report.static_ram + stack
            instructions = int(results["step.counter"])
            macs = sum(node.macs for node in project.graph.nodes)
            forward_macs = sum(node.macs for node in project.graph.inference_nodes)
            forward = int(results["infer.counter"]) / forward_macs
            floors.append((name, *forward_floor(project.graph)))
            click.echo(
                f"{name:30} {arena:8,} {state:8,} {other:6,} {stack:6,} {peak:10,} "
                f"{peak / 1024 - MCUNETV3_KB:+7.1f}K {instructions:12,} {macs:11,} "
                f"{instructions / macs:9.2f} {forward:13.2f}"
            )
            if project.planned is not None:
                click.echo(f"{'':30} {plan_words(project.planned.schedule)}")
    click.echo("arena: activations (int8), gradients (float32), the int8 input batch, the fused "
               "updates' scratch, the rings of fused convolution -> depthwise nodes; state: int8 / int32 "
               "trainable parameters (a sparse conv / FC weight: its trainable rows only, the frozen rows "
               "stay in flash); other: the runtime's own static data")
    click.echo("one-node floor of the forward (inputs + output + workspace of the largest forward node, "
               "non-resident buffers, the input batch among them):")
    for name, floor, node in floors:
        click.echo(f"  {name:30} {floor:8,} B  {node}")


if __name__ == "__main__":
    main()
