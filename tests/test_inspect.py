"""`edgesdk inspect`: values, not just exit codes. MACs, bytes and training memory against closed
forms worked out by hand for the digits model and recomputed from shapes for every fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from edgesdk.cli import main
from edgesdk.frontend import load_model
from edgesdk.ir import OpKind

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.tflite")) + [
    ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"
]
DIGITS = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"


def _inspect_json(path: Path) -> dict:
    result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_digits_figures_match_the_hand_computed_ones() -> None:
    report = _inspect_json(DIGITS)
    macs = [op["macs"] for op in report["ops"]]
    # conv 3x3 1->8 on 8x8; depthwise 3x3 x8; conv 1x1 8->16; max pool; conv 3x3 16->24 on 4x4;
    # mean; fc 24->10; softmax
    assert macs == [8 * 8 * 8 * 9 * 1, 8 * 8 * 8 * 9, 8 * 8 * 16 * 8, 0, 4 * 4 * 24 * 9 * 16, 0, 24 * 10, 0]
    totals = report["totals"]
    assert totals["macs"] == 72_944
    weights = 8 * 9 + 8 * 9 + 16 * 8 + 24 * 9 * 16 + 10 * 24
    biases = 8 + 8 + 16 + 24 + 10
    assert totals["param_elements"] == weights + biases == 4034
    assert totals["param_bytes"] == weights + 4 * biases  # int8 weights, int32 biases
    activations = 64 + 512 + 512 + 1024 + 256 + 384 + 24 + 10 + 10
    assert totals["activation_elements"] == totals["activation_bytes"] == activations
    assert totals["training_bytes_fp32"] == 4 * (activations + 2 * 4034) == 43_456
    assert [op["activation_bytes"] for op in report["ops"]] == [512, 512, 1024, 256, 384, 24, 10, 10]
    assert report["ops"][0]["attrs"] == {"stride": [1, 1], "dilation": [1, 1], "padding": "same",
                                         "activation": "relu"}
    assert report["ops"][0]["param_bytes"] == 8 * 9 + 8 * 4


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_fixture_reports_closed_form_macs_and_bytes(path: Path) -> None:
    report = _inspect_json(path)
    graph = load_model(path)
    assert len(report["ops"]) == len(graph.ops) and len(report["tensors"]) == len(graph.tensors)
    total = 0
    for op, entry in zip(graph.ops, report["ops"], strict=True):
        assert entry["kind"] == op.kind.value
        if op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D):
            n, oh, ow, oc = graph.tensors[op.outputs[0]].shape
            _, kh, kw, ic = graph.tensors[op.inputs[1]].shape
            expected = n * oh * ow * oc * kh * kw * (ic if op.kind is OpKind.CONV_2D else 1)
        elif op.kind is OpKind.FULLY_CONNECTED:
            out_features, in_features = graph.tensors[op.inputs[1]].shape
            rows = graph.tensors[op.outputs[0]].size // out_features
            expected = rows * out_features * in_features
        else:
            expected = 0
        assert entry["macs"] == expected
        total += expected
    totals = report["totals"]
    assert totals["macs"] == total
    params = sum(t.size for t in graph.tensors if t.is_constant)
    activations = sum(t.size for t in graph.tensors if not t.is_constant)
    assert totals["param_elements"] == params and totals["activation_elements"] == activations
    assert totals["training_bytes_fp32"] == 4 * activations + 8 * params
    assert totals["param_bytes"] == sum(t.nbytes for t in graph.tensors if t.is_constant)
    for tensor, entry in zip(graph.tensors, report["tensors"], strict=True):
        assert entry["shape"] == list(tensor.shape) and entry["bytes"] == tensor.nbytes
        if tensor.quant is not None:
            assert entry["quant"]["zero_point"] == tensor.quant.zero_point.tolist()
            assert entry["quant"]["axis"] == tensor.quant.axis


def test_mobilenet_size_is_what_the_architecture_predicts() -> None:
    totals = _inspect_json(ROOT / "tests" / "fixtures" / "mobilenetv2_035_96.tflite")["totals"]
    # MobileNetV2-0.35 at 96x96 is published at about 11 M MACs and 0.4 M parameters (10 classes here)
    assert 10.0e6 < totals["macs"] < 11.5e6
    assert 0.38e6 < totals["param_elements"] < 0.42e6


def test_table_for_people() -> None:
    result = CliRunner().invoke(main, ["inspect", str(DIGITS)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("model digits_cnn: 8 ops, 19 tensors")
    assert "training memory, all kept  43,456 B (42.4 KiB) in fp32 = 4 x (2,796 activations" in text
    conv_row = next(line for line in text.splitlines() if line.strip().startswith("4  CONV_2D"))
    assert "55,296" in conv_row and "stride=1x1" in conv_row and "padding=same" in conv_row
    assert "axis 3 x8" in text  # depthwise weights quantized per channel along axis 3
    assert "MACs per inference         72,944" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "empty"), (b"not a flatbuffer, just words", "TFL3")],
)
def test_errors_are_messages_not_tracebacks(tmp_path, content, message) -> None:
    path = tmp_path / "model.tflite"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
