"""edgesdk export: trained parameters back into the .tflite, run by TFLite Micro.

The bar: TFLite Micro runs the exported model and every tensor equals the reference's int8
inference with the same parameters, bit for bit.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tflite
from click.testing import CliRunner
from edgesdk import ir
from edgesdk.cli import main
from edgesdk.errors import ExportError
from edgesdk.export import export_parameters, read_image, write_image
from edgesdk.frontend import load_model
from edgesdk.reference import ReferenceTrainer
from edgesdk.testing.tflm import run_tflm_batch
from edgesdk.train import TrainableSpec, build_training_graph

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "fixtures" / "small_cnn_int8.tflite"
DIGITS = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"
MOBILENET = ROOT / "tests" / "fixtures" / "mobilenetv2_035_96.tflite"


def images(graph: ir.Graph, batch: int, seed: int) -> np.ndarray:
    shape = (batch, *graph.tensor(graph.inputs[0]).shape[1:])
    smooth = np.random.default_rng(seed).normal(size=shape).cumsum(axis=1).cumsum(axis=2)
    return np.clip(np.round(smooth / np.abs(smooth).max() * 127), -128, 127).astype(np.int8)


def trained_int8(path: Path, trainable="all", options=None, steps=3, lr=0.1):  # type: ignore[no-untyped-def]
    graph = load_model(path)
    tg = build_training_graph(
        graph, trainable=trainable, optimizer=f"sgd:lr={lr}", batch=2, precision="int8", int8_training=options
    )
    trainer = ReferenceTrainer(tg)
    x = images(graph, 2, 0)
    for step in range(steps):
        trainer.train_step(x, np.array([step % 10, (step + 3) % 10]))
    return graph, tg, trainer


def inference_values(path_or_blob, x: np.ndarray) -> dict[int, np.ndarray]:  # type: ignore[no-untyped-def]
    """Every tensor of the reference's int8 inference of a model (IR index -> array)."""
    graph = load_model(path_or_blob)
    tg = build_training_graph(graph, precision="int8", batch=x.shape[0])
    seen: dict[int, np.ndarray] = {}

    def keep(node, values):  # type: ignore[no-untyped-def]
        seen[tg.values[node.output].tensor] = values[node.output]

    ReferenceTrainer(tg).infer(x, hook=keep)
    return seen


def assert_tflm_runs_it_as_the_reference(blobs: list[bytes], xs: list[np.ndarray]) -> None:
    for blob, x, tflm in zip(blobs, xs, run_tflm_batch(list(zip(blobs, xs, strict=True))), strict=True):
        ours = inference_values(blob, x)
        assert len(ours) >= 7
        for index, array in ours.items():
            assert np.array_equal(array.reshape(-1), tflm[index].reshape(-1)), f"tensor {index}"


# ---------------------------------------------------------------- int8 training -> .tflite


def test_int8_trained_model_runs_in_tflite_micro_as_in_the_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blobs, xs = [], []
    cases = [
        (SMALL, "all", None),
        (DIGITS, "all", "stochastic,unfused"),
        (
            MOBILENET,
            TrainableSpec.sparse({"conv_2d_61": (0.5, True), "fully_connected_63": (1.0, False)}),
            None,
        ),
    ]
    for path, trainable, options in cases:
        graph, tg, trainer = trained_int8(path, trainable, options)
        npz = tmp_path / f"{path.stem}.npz"
        trainer.save_parameters(npz)
        result = export_parameters(path, npz)
        assert sum(p.changed for p in result.parameters) > 20
        exported = load_model(result.blob)
        for name, array in trainer.parameters.items():  # the model now holds the trained integers
            index = tg.values[name].tensor
            assert np.array_equal(exported.tensor(index).data, array), name
        x = images(graph, 2, 7)
        assert np.array_equal(inference_values(result.blob, x)[graph.outputs[0]], trainer.infer(x))
        blobs.append(result.blob)
        xs.append(x)
    assert_tflm_runs_it_as_the_reference(blobs, xs)


def test_shared_buffers_are_split_and_the_rest_stays_byte_identical() -> None:
    """The converter gave two biases of the small CNN one buffer; both train to other values."""
    model = tflite.Model.GetRootAsModel(SMALL.read_bytes(), 0)
    tensors = model.Subgraphs(0)
    buffers = [tensors.Tensors(t).Buffer() for t in range(tensors.TensorsLength())]
    shared = {b for b in buffers if b and buffers.count(b) > 1}
    assert shared, "the fixture no longer shares a buffer; this test needs one"
    graph, tg, trainer = trained_int8(SMALL)
    result = export_parameters(SMALL, trainer.parameters)
    exported = load_model(result.blob)
    names = [n for n in tg.parameters if tg.values[n].tensor is not None]
    sharing = [n for n in names if buffers[_tflite_index(n, tg)] in shared]
    assert len(sharing) == 2
    a, b = (exported.tensor(tg.values[n].tensor).data for n in sharing)
    assert not np.array_equal(a, b)
    # in place: a model whose trained tensors share nothing keeps its size and layout
    digits = trained_int8(DIGITS, "last:1")[2]
    same_size = export_parameters(DIGITS, digits.parameters).blob
    assert len(same_size) == len(DIGITS.read_bytes())
    differ = np.flatnonzero(
        np.frombuffer(same_size, np.uint8) != np.frombuffer(DIGITS.read_bytes(), np.uint8)
    )
    assert 0 < differ.size <= 10 * 24 + 10 * 4  # only the FC layer's bytes


def _tflite_index(name: str, tg) -> int:  # type: ignore[no-untyped-def]
    from edgesdk.frontend import import_model

    return import_model(SMALL).tflite_tensor[tg.values[name].tensor]


def test_untrained_parameters_give_the_same_file() -> None:
    graph = load_model(SMALL)
    for precision in ("int8", "fp32"):
        trainer = ReferenceTrainer(build_training_graph(graph, precision=precision))
        assert export_parameters(SMALL, trainer.parameters).blob == SMALL.read_bytes()
        assert export_parameters(SMALL, trainer.parameters, refit=True).blob == SMALL.read_bytes()


# ---------------------------------------------------------------- the device parameter image


def test_device_image_exports_like_the_npz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    graph, tg, trainer = trained_int8(DIGITS, "last:2")
    records = [(tg.values[name].tensor, trainer.parameters[name]) for name in tg.parameters]
    image = tmp_path / "params.bin"
    image.write_bytes(write_image(records))
    npz = tmp_path / "params.npz"
    trainer.save_parameters(npz)
    assert export_parameters(DIGITS, image).blob == export_parameters(DIGITS, npz).blob


def test_image_layout_is_the_documented_one() -> None:
    """Built by hand from the format in docs/int8-training.md, independent of write_image."""
    w = np.array([[1, -2, 3]], np.int8)
    b = np.array([-70000], np.int32)
    f = np.array([0.5, -1.25], np.float32)
    payload = b""
    for tensor, code, array in ((7, 1, w), (8, 2, b), (9, 3, f)):
        payload += (
            struct.pack("<IBxxxI", tensor, code, array.size)
            + array.astype(array.dtype.newbyteorder("<")).tobytes()
        )
        payload += b"\0" * (-len(payload) % 4)
    blob = struct.pack("<4sHHII", b"ESPI", 1, 3, len(payload), zlib.crc32(payload)) + payload
    assert write_image([(7, w), (8, b), (9, f)]) == blob
    records = read_image(blob)
    assert [r.tensor for r in records] == [7, 8, 9]
    assert [r.data.dtype for r in records] == [np.int8, np.int32, np.float32]
    assert np.array_equal(records[1].data, b) and np.array_equal(records[2].data, f)
    assert len(blob) % 4 == 0 and len(blob) == 16 + (12 + 4) + (12 + 4) + (12 + 8)


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda b: b"ESPX" + b[4:], "does not start with ESPI"),
        (lambda b: b[:4] + struct.pack("<H", 2) + b[6:], "format version 2"),
        (lambda b: b[:-3], "cut short"),
        (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], "CRC-32"),
        (lambda b: b[:10], "shorter than the 16-byte header"),
    ],
)
def test_damaged_images_are_refused(damage, message) -> None:  # type: ignore[no-untyped-def]
    blob = write_image([(3, np.arange(5, dtype=np.int8))])
    with pytest.raises(ExportError, match=message):
        read_image(damage(blob))


def test_images_of_another_model_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    graph = load_model(DIGITS)
    fc = graph.ops[6]
    with pytest.raises(ExportError, match="not a weight or bias"):
        export_parameters(DIGITS, {fc.outputs[0]: np.zeros(10, np.int8)})
    with pytest.raises(ExportError, match="has 9 values but the model's tensor has shape"):
        export_parameters(DIGITS, {fc.inputs[1]: np.zeros(9, np.int8)})
    with pytest.raises(ExportError, match="is int32, but the model stores int8"):
        export_parameters(DIGITS, {fc.inputs[1]: np.zeros(graph.tensor(fc.inputs[1]).shape, np.int32)})
    with pytest.raises(ExportError, match="NaN"):
        export_parameters(DIGITS, {"fully_connected_6.w": np.full(graph.tensor(fc.inputs[1]).shape, np.nan)})
    with pytest.raises(ExportError, match="trained on another model"):
        export_parameters(DIGITS, {"conv_2d_9.w": np.zeros(3, np.float32)})


# ---------------------------------------------------------------- fp32 training -> requantized


def fp32_trained(path: Path, steps: int = 4):  # type: ignore[no-untyped-def]
    graph = load_model(path)
    tg = build_training_graph(graph, trainable="last:2", optimizer="sgd:lr=0.2", batch=2)
    trainer = ReferenceTrainer(tg)
    x = images(graph, 2, 1).astype(np.float32) / 127
    for step in range(steps):
        trainer.train_step(x, np.array([step % 10, 9 - step % 10]))
    return graph, trainer


def test_fp32_parameters_are_requantized_with_the_models_scales() -> None:
    graph, trainer = fp32_trained(DIGITS)
    result = export_parameters(DIGITS, trainer.parameters)
    exported = load_model(result.blob)
    op = graph.ops[6]
    w = graph.tensor(op.inputs[1])
    scale = np.float32(w.quant.scale).astype(np.float64).reshape(-1, 1)  # type: ignore[union-attr]
    real = trainer.parameters["fully_connected_6.w"].astype(np.float64)
    expected = np.clip(np.sign(real / scale) * np.floor(np.abs(real / scale) + 0.5), -127, 127)
    assert np.array_equal(exported.tensor(op.inputs[1]).data, expected.astype(np.int8))
    assert np.array_equal(exported.tensor(op.inputs[1]).quant.scale, w.quant.scale)  # type: ignore[union-attr]
    b = graph.tensor(op.inputs[2])
    b_scale = np.float32(b.quant.scale).astype(np.float64)  # type: ignore[union-attr]
    real_b = trainer.parameters["fully_connected_6.b"].astype(np.float64) / b_scale
    assert np.array_equal(
        exported.tensor(op.inputs[2]).data, (np.sign(real_b) * np.floor(np.abs(real_b) + 0.5))
    )
    assert sum(p.changed for p in result.parameters if p.given == "float32") > 20
    x = images(graph, 3, 4)
    assert_tflm_runs_it_as_the_reference([result.blob], [x])


def test_refit_scales_follow_the_trained_weights() -> None:
    graph, trainer = fp32_trained(DIGITS, steps=6)
    result = export_parameters(DIGITS, trainer.parameters, refit=True)
    exported = load_model(result.blob)
    op = graph.ops[4]  # conv_2d_4: per-channel weights, with a bias
    w_new = exported.tensor(op.inputs[1])
    real = trainer.parameters["conv_2d_4.w"]
    peak = np.abs(real).reshape(real.shape[0], -1).max(axis=1)
    assert np.array_equal(np.float32(w_new.quant.scale), np.float32(peak / 127))  # type: ignore[union-attr]
    assert np.abs(w_new.dequantized() - real).max() <= np.float32(peak / 127).max() / 2 * 1.0001
    assert np.abs(w_new.data).max() == 127
    s_x = np.float32(graph.tensor(op.inputs[0]).quant.scale[0])  # type: ignore[union-attr]
    b_new = exported.tensor(op.inputs[2])
    expected = (float(s_x) * np.float32(w_new.quant.scale).astype(np.float64)).astype(np.float32)  # type: ignore[union-attr]
    assert np.array_equal(np.float32(b_new.quant.scale), expected)  # type: ignore[union-attr]
    assert np.abs(b_new.dequantized() - trainer.parameters["conv_2d_4.b"]).max() <= expected.max()
    frozen = graph.ops[0]  # not trained: untouched
    assert np.array_equal(
        exported.tensor(frozen.inputs[1]).quant.scale, graph.tensor(frozen.inputs[1]).quant.scale
    )
    assert [p.refit for p in result.parameters if p.changed] and all(
        p.refit for p in result.parameters if p.name.startswith("conv_2d_4")
    )
    assert_tflm_runs_it_as_the_reference([result.blob], [images(graph, 2, 5)])


# ---------------------------------------------------------------- command line


def test_cli_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    graph, tg, trainer = trained_int8(DIGITS, "last:2")
    npz = tmp_path / "trained.npz"
    trainer.save_parameters(npz)
    out = tmp_path / "trained.tflite"
    runner = CliRunner()
    done = runner.invoke(main, ["export", str(DIGITS), "--params", str(npz), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "parameters differ from the model's" in done.output and "fully_connected_6.w" in done.output
    assert out.read_bytes() == export_parameters(DIGITS, npz).blob
    for args, message in (
        (["--params", str(tmp_path / "missing.npz"), "-o", str(out)], "does not exist"),
        (["--params", str(DIGITS), "-o", str(out)], "does not start with ESPI"),
        (["--params", str(npz), "-o", str(DIGITS)], "is the input model"),
    ):
        done = runner.invoke(main, ["export", str(DIGITS), *args])
        assert done.exit_code == 2 and message in done.output, done.output
        assert "Traceback" not in done.output
