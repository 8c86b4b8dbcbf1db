"""Generated int8 training runtimes against the numpy reference, bit for bit.

Each project is generated with ``precision="int8"``, compiled for the host (the runtime archive
built once per session) and runs its demo: pseudo-random batches quantized on the device, K
training steps, one inference. Every step's loss, the parameter image es_params_save writes
(ESPI v1: its bytes must equal ``edgesdk.export.write_image`` of the reference's parameters) and
the inference output must be the reference's bits (``ReferenceTrainer`` on the same training
graph). The matrix: the fixtures (small CNN, float-IO CNN, converter patterns, digits) x trainable
all / last:2 / bias / sparse x nearest / stochastic rounding x fused / unfused, master copies,
batch 2, MobileNetV2 for one step; some under AddressSanitizer + UndefinedBehaviorSanitizer.
Also: the API checks of a generated model, and the CLI.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from codegen_support import FIXTURES, runtime_archive
from edgesdk.boards import load_board
from edgesdk.codegen.data import pseudo_random_batches
from edgesdk.export.image import read_image, write_image
from edgesdk.frontend import load_model
from edgesdk.pipeline import (
    GeneratedProject,
    ProjectOptions,
    compile_project,
    generate_project,
    training_graph,
)
from edgesdk.plan.planner import PlanOptions, minimal_budget
from edgesdk.plan.project import PlanRequest, planning_board
from edgesdk.plan.training import plan_graph
from edgesdk.reference import ReferenceTrainer
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.compiler import compile_firmware
from edgesdk.toolchain.protocol import Results
from edgesdk.train.graph import Compute
from edgesdk.train.spec import PARAMETERIZED, layer_label
from schedule_support import resident_input_view

HERE = Path(__file__).resolve().parent
DIGITS = HERE.parent / "examples" / "digits" / "model" / "digits_cnn.tflite"
API_CHECK = HERE / "c" / "model_api_check.c"
INPUT_COPY_CHECK = HERE / "c" / "int8_input_copy_check.c"
MODELS = {
    "small_cnn": FIXTURES / "small_cnn_int8.tflite",
    "float_io": FIXTURES / "small_cnn_float_io.tflite",
    "converter": FIXTURES / "converter_patterns_int8.tflite",
    "digits": DIGITS,
}
STEPS = 3


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime_archive(tmp_path_factory.getbasetemp() / "edgesdk-runtime")


@pytest.fixture(scope="module")
def sanitized_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime_archive(tmp_path_factory.getbasetemp() / "edgesdk-runtime", sanitize=True)


def sparse_plan(model: Path, directory: Path) -> str:
    """A TinyEngine-like sparse update: the first layer's bias, half of the middle layer's output
    channels, 30 % of the last layer's weights and its bias."""
    graph = load_model(model)
    layers = [op for op in graph.ops if op.kind in PARAMETERIZED]
    plan = {
        layer_label(layers[0]): {"bias": True},
        layer_label(layers[len(layers) // 2]): {"weight_ratio": 0.5},
        layer_label(layers[-1]): {"weight_ratio": 0.3, "bias": True},
    }
    path = directory / "sparse.json"
    path.write_text(json.dumps(plan))
    return f"sparse:{path}"


def image_bytes(results: Results) -> bytes:
    """The parameter image the demo reported (its words as float32 bits, exactly)."""
    words = [int(bits, 16) for bits in json.loads(results.raw["params"])["f32"]]
    return struct.pack(f"<{len(words)}I", *words)


def device_output(project: GeneratedProject, results: Results) -> np.ndarray:
    """The int8 inference output the device computed (es_infer dequantizes it exactly)."""
    out = np.asarray(results["infer.output"], np.float32)
    value = project.graph.value(project.graph.outputs[0])
    if value.dtype.value != "int8":
        return out
    tensor = project.graph.source.tensor(value.tensor)
    scale, zero = np.float32(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])
    q = np.rint(out / scale) + zero
    assert np.array_equal((scale * (q - zero)).astype(np.float32), out)  # exactly representable
    return q.astype(np.int8)


def build_and_compare(
    model: Path,
    directory: Path,
    archive: Path,
    *,
    trainable: str = "all",
    update: str = "qas,nearest,fused",
    batch: int = 1,
    steps: int = STEPS,
    lr: float = 0.05,
    sanitize: bool = False,
    plan: PlanRequest | None = None,
) -> tuple[GeneratedProject, Results, ReferenceTrainer]:
    options = ProjectOptions(
        trainable=trainable, optimizer="sgd", lr=lr, batch=batch, steps=steps, report_params=True,
        precision="int8", int8_training=update, plan=plan,
    )
    project = generate_project(model, "host", directory, options)
    built = compile_project(project.directory, "host", sanitize=sanitize, runtime_archive=archive)
    results = run_firmware(built.firmware).check().results
    trainer = ReferenceTrainer(project.graph)
    batches = pseudo_random_batches(project.facts, steps)
    losses = [trainer.train_step(x, y) for x, y in batches]
    c_losses = results.all("step.loss")
    where = f"{model.name} {trainable} {update} batch {batch}"
    assert np.array_equal(np.float32(c_losses).view(np.uint32), np.float32(losses).view(np.uint32)), where
    image = image_bytes(results)
    expected = [(project.graph.value(n).tensor, trainer.state[n]) for n in project.graph.parameters]
    assert image == write_image(expected), where
    output = trainer.infer(batches[-1][0]).reshape(-1)
    assert np.array_equal(device_output(project, results).reshape(-1), output), where
    return project, results, trainer


def tight_budget(trainable: str) -> tuple[int, int]:
    """For the small CNN trained with ``trainable`` on the host: the smallest budget of the
    planner's view (the input batch a node of the plan) and of the view that counted the batch as
    resident all step (tests/schedule_support.py), both from the planner's own search."""
    options = ProjectOptions(trainable=trainable, optimizer="sgd", lr=0.05, precision="int8")
    graph = training_graph(load_model(MODELS["small_cnn"]), options)
    board = planning_board(load_board("host"), graph, None)[0]
    probe = PlanOptions(budget_bytes=1, objective="time")
    smallest = minimal_budget(plan_graph(graph), board, probe)
    return smallest, minimal_budget(resident_input_view(graph), board, probe)


def input_lifetimes(project: GeneratedProject) -> list[tuple[str, int]]:
    """(instruction, arena offset) of every instruction of the plan on the input batch."""
    instructions = project.planned.schedule.instructions
    return [(ins.op, ins.arena_offset) for ins in instructions if ins.node == "input"]


@pytest.mark.parametrize("trainable", ["last:1", "all"])
def test_planned_int8_step_below_the_resident_input_budget(trainable, archive, tmp_path):
    """The input batch is an arena buffer of the plan, not resident state: the smallest budget is
    below the one of the view that held the batch all step, and a plan at it builds and gives the
    reference's losses, parameter image and inference output. With the classifier alone training,
    the batch is dead after the first convolution; with every layer training, the first layer's
    update reads it at the end of the step, and the plan pages it out after the first convolution
    and back in at another offset (so the update reads the paged-in copy)."""
    budget, resident_view = tight_budget(trainable)
    batch = 32 * 32 * 3
    assert batch - 128 <= resident_view - budget <= batch, (budget, resident_view)
    request = PlanRequest(budget_bytes=budget, objective="time", time_limit_s=20.0)
    project, _, _ = build_and_compare(MODELS["small_cnn"], tmp_path / "fw", archive, trainable=trainable,
                                      plan=request)
    lifetimes = input_lifetimes(project)
    assert project.planned.schedule.instructions[0].node == "input"
    assert project.model.int8.input_scheduled and project.model.int8.input_offset == lifetimes[0][1]
    assert project.model.train_arena_bytes <= budget - project.planned.schedule.resident_bytes
    ops = [op for op, _ in lifetimes]
    if trainable == "all":
        assert ops == ["compute", "page_out", "free", "page_in", "free"], ops
        assert lifetimes[3][1] != lifetimes[0][1]
    else:
        assert ops == ["compute", "free"], ops


@pytest.mark.parametrize("trainable", ["last:1", "all"])
def test_planned_inference_leaves_the_input_region_alone(trainable, tmp_path):
    """es_infer(x) quantizes x into es_input_int8(), then inference reads it: after a planned step,
    no inference buffer overlaps that region until the last read of the input."""
    budget, _ = tight_budget(trainable)
    options = ProjectOptions(trainable=trainable, precision="int8",
                             plan=PlanRequest(budget_bytes=budget, objective="time", time_limit_s=20.0))
    project = generate_project(MODELS["small_cnn"], "host", tmp_path / "fw", options)
    model, graph = project.model, project.graph
    region = (model.int8.input_offset, model.int8.input_offset + graph.value(graph.input).nbytes)
    first_read = model.train_end + 1
    last_read = first_read + max(i for i, n in enumerate(graph.inference_nodes) if graph.input in n.inputs)
    infer = [p for p in model.layout.placements if p.lifetime.start > model.train_end]
    assert infer
    for placement in infer:
        if placement.lifetime.start <= last_read:
            assert placement.end_offset <= region[0] or region[1] <= placement.offset, placement


def test_planned_int8_step_copies_a_batch_from_the_callers_array(sanitized_archive, tmp_path):
    """A planned step reads the batch from the arena: es_train_step_int8 with the batch in the
    caller's array (copied in first, the array left alone) gives the bits of the same batches
    written into es_input_int8(), losses, parameters and inference alike; the plan pages the
    batch. Under ASan + UBSan."""
    budget, _ = tight_budget("all")
    options = ProjectOptions(trainable="all", optimizer="sgd", lr=0.05, precision="int8",
                             plan=PlanRequest(budget_bytes=budget, objective="time", time_limit_s=20.0))
    project = generate_project(MODELS["small_cnn"], "host", tmp_path / "project", options)
    assert "page_in" in [op for op, _ in input_lifetimes(project)]
    firmware = compile_firmware(
        [project.directory / "src" / "model.c", INPUT_COPY_CHECK, sanitized_archive],
        board="host", out_dir=tmp_path / "check", include_dirs=[project.directory / "src"],
        with_port=False, sanitize=True,
    )
    values = run_firmware(firmware).check().results.values
    checks = {key: value for key, value in values.items() if key.startswith("check.")}
    assert len(checks) == 7 and all(v == 1 for v in checks.values()), checks


def test_update_chunks_are_lifetimes_of_the_layout(tmp_path):
    """MobileNetV2, classifier only: the classifier update's 5 KB gradient chunk is a workspace
    lifetime of the layout, like the fused forward nodes' rings. Keep-all: the arena is what the
    layout and the input batch need; planned at the smallest budget: the arena is the plan's (its
    workspaces included), and with the state it fits the budget."""
    model = FIXTURES / "mobilenetv2_035_96.tflite"
    options = ProjectOptions(trainable="last:1", optimizer="sgd", lr=0.01, precision="int8")
    graph = training_graph(load_model(model), options)
    board = planning_board(load_board("stm32f746"), graph, None)[0]
    budget = minimal_budget(plan_graph(graph), board, PlanOptions(budget_bytes=1, objective="time"))
    keep_all = generate_project(model, "stm32f746", tmp_path / "keep_all", options).model
    update = next(node for node in graph.nodes if node.compute is Compute.FULLY_CONNECTED_BWD_W_QAS)
    chunks = [p for p in keep_all.layout.placements if p.lifetime.buffer == f"{update.name}:workspace"]
    assert [p.lifetime.size for p in chunks] == [update.workspace_bytes] == [5120]
    batch_end = keep_all.int8.input_offset + graph.value(graph.input).nbytes
    assert keep_all.arena_size == max(keep_all.layout.size, -(-batch_end // 16) * 16)
    request = PlanRequest(budget_bytes=budget, objective="time", time_limit_s=20.0)
    planned = generate_project(model, "stm32f746", tmp_path / "planned", replace(options, plan=request))
    state = int(next(m.value for m in planned.model.header_macros if m.name == "ES_MODEL_STATE_BYTES"))
    assert planned.model.arena_size == planned.planned.schedule.figures.arena_bytes
    assert planned.model.arena_size + state <= budget


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("trainable", ["all", "last:2", "bias", "sparse"])
def test_generated_int8_training_equals_the_reference(model, trainable, archive, tmp_path):
    if trainable == "sparse":
        trainable = sparse_plan(MODELS[model], tmp_path)
    for rounding in ("nearest", "stochastic"):
        for form in ("fused", "unfused"):
            update = f"qas,{rounding},{form}"
            build_and_compare(MODELS[model], tmp_path / f"{rounding}_{form}", archive, trainable=trainable,
                              update=update)


@pytest.mark.parametrize("model", ["small_cnn", "digits"])
def test_master_copies_batches_and_no_qas(model, archive, tmp_path):
    for update, batch in (("master,fused", 2), ("master,unfused", 1), ("noqas,stochastic,fused", 2)):
        lr = 30.0 if "noqas" in update else 0.05
        build_and_compare(MODELS[model], tmp_path / update.replace(",", "_"), archive, update=update,
                          batch=batch, lr=lr)


def test_parameters_move_and_frozen_ones_do_not(archive, tmp_path):
    project, results, _ = build_and_compare(
        MODELS["digits"], tmp_path / "fw", archive, trainable=sparse_plan(MODELS["digits"], tmp_path)
    )
    records = {record.tensor: record.data for record in read_image(image_bytes(results))}
    moved = 0
    for name in project.graph.parameters:
        tensor = project.graph.source.tensor(project.graph.value(name).tensor)
        trained = records[tensor.index].reshape(tensor.shape)
        channels = project.graph.trainable_channels[name]
        axis = 3 if name.startswith("depthwise") and name.endswith(".w") else 0
        rest = np.arange(channels, tensor.shape[axis])
        assert np.array_equal(np.take(trained, rest, axis=axis), np.take(tensor.data, rest, axis=axis))
        moved += int(np.any(trained != tensor.data))
    assert moved >= 2


def test_mobilenetv2_one_step(archive, tmp_path):
    project, _, _ = build_and_compare(
        FIXTURES / "mobilenetv2_035_96.tflite", tmp_path / "fw", archive, trainable="bias", steps=1,
        update="qas,stochastic,fused",
    )
    assert project.model.int8 is not None and project.model.api_suffix == "_int8"
    # every CONV_2D / DEPTHWISE_CONV_2D runs a fast kernel (docs/int8-codegen.md), none the reference
    source = (project.directory / "src" / "model.c").read_text()
    for kernel in ("es_conv2d_1x1_int8_fwd", "es_conv2d_rows_int8_fwd", "es_depthwise_conv2d_3x3_int8_fwd"):
        assert f"{kernel}(" in source, kernel
    assert "es_conv2d_int8_fwd(" not in source and "es_depthwise_conv2d_int8_fwd(" not in source


def test_under_asan_and_ubsan(sanitized_archive, tmp_path):
    for model, update in (("converter", "stochastic,unfused"), ("digits", "master,fused")):
        build_and_compare(MODELS[model], tmp_path / model, sanitized_archive, update=update, batch=2,
                          sanitize=True)


def test_generated_api_checks_under_sanitizers(sanitized_archive, tmp_path):
    """The API program of the fp32 tests (argument errors, es_init starts over, save / load round
    trip) on an int8 model with master copies, under ASan + UBSan."""
    options = ProjectOptions(trainable="all", precision="int8", int8_training="master", lr=0.5)
    project = generate_project(MODELS["small_cnn"], "host", tmp_path / "project", options)
    firmware = compile_firmware(
        [project.directory / "src" / "model.c", API_CHECK, sanitized_archive],
        board="host", out_dir=tmp_path / "check", include_dirs=[project.directory / "src"],
        with_port=False, sanitize=True,
    )
    values = run_firmware(firmware).check().results.values
    checks = {key: value for key, value in values.items() if key.startswith("check.")}
    assert len(checks) == 21 and all(v == 1 for v in checks.values()), checks


def test_generated_source_layout(tmp_path):
    options = ProjectOptions(trainable="last:2", precision="int8", int8_training="stochastic")
    project = generate_project(MODELS["digits"], "host", tmp_path / "fw", options)
    source = (project.directory / "src" / "model.c").read_text()
    header = (project.directory / "src" / "model.h").read_text()
    assert "static const int8_t conv_2d_0_w[" in source  # frozen weights: the model's int8, in flash
    assert "static int8_t conv_2d_4_w[" in source and "static const int8_t conv_2d_4_w_init[" in source
    assert "static int32_t conv_2d_4_b[" in source
    assert "static int8_t *const depthwise_conv_2d_1_y" in source  # conv_2d_0's output: fused away
    assert "static float *const loss_dlogits" in source
    assert "static uint32_t rng[1];" in source
    assert "(float *)" in source  # the fused updates' gradient chunks: workspaces in the arena
    assert "int8_t *es_input_int8(void);" in header
    assert "es_conv2d_int8_bwd_w_qas(" in source and "es_bias_int32_bwd_qas(" in source
    for api in ("es_train_step_int8(const int8_t *x, const es_label *labels, float *loss);",
                "es_infer_int8(const int8_t *x, int8_t *out);",
                "es_train_step(const float *x, const es_label *labels, float *loss);",
                "#define ES_MODEL_PRECISION_INT8"):
        assert api in header, api
    assert project.manifest.data["options"]["precision"] == "int8"
    assert project.manifest.data["options"]["int8_training"]["rounding"] == "stochastic"


def test_input_region_overlaps_no_live_buffer(tmp_path):
    """The input batch shares the arena with the buffers (the updates' gradient chunks among them),
    never with one live at the same time; with little room (the first layer trains, so the input
    is read to the end of the step) the arena grows instead."""
    for trainable in ("all", "last:2", "bias"):
        options = ProjectOptions(trainable=trainable, precision="int8", batch=2)
        project = generate_project(MODELS["small_cnn"], "host", tmp_path / trainable, options)
        model, graph = project.model, project.graph
        batch = (model.int8.input_offset, model.int8.input_offset + graph.value(graph.input).nbytes)
        assert batch[1] <= model.arena_size
        reads = [i for i, node in enumerate(graph.nodes) if graph.input in node.inputs]
        chunks = 0
        for placement in model.layout.placements:
            life = placement.lifetime
            chunks += life.buffer.endswith(":workspace")
            if life.start <= max(reads):
                span = (placement.offset, placement.end_offset)
                assert span[1] <= batch[0] or batch[1] <= span[0], (trainable, life)
        assert chunks == sum(1 for node in (*graph.nodes, *graph.inference_nodes) if node.workspace_bytes)


@pytest.mark.parametrize("budget,update", [(30 << 10, "qas,stochastic,fused"), (46 << 10, "master,unfused")])
def test_planned_int8_step_equals_the_reference(budget, update, archive, tmp_path):
    """A planner schedule (paging to the simulated flash, recomputation) for an int8 step: the
    generated code still gives the reference's bits (rematerialization and paging change no number)."""
    request = PlanRequest(budget_bytes=budget, objective="time", time_limit_s=20.0)
    project, results, _ = build_and_compare(MODELS["small_cnn"], tmp_path / "fw", archive, update=update,
                                            plan=request)
    assert project.planned is not None and project.model.scheduled
    assert project.model.train_arena_bytes <= budget
    actions = {step.action for phase in project.model.train_phases for step in phase.steps}
    assert actions & {"page_out", "recompute"}, actions  # the budget made the plan page or recompute
