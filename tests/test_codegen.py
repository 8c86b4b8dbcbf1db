"""Code generation pieces: shapes and literals as the C runtime reads them, what the generator
refuses, the generated API used from a separate C program (under ASan + UBSan), and the
pseudo-random demo data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from codegen_support import every_op_classifier, every_op_regressor, runtime_archive
from edgesdk.codegen import assemble_model, pseudo_random_batches
from edgesdk.codegen.kernels import c_float, c_floats, es_axis, es_dims
from edgesdk.errors import NumericError, UnsupportedOpError
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, generate_project, training_graph
from edgesdk.testing.builder import ModelBuilder
from edgesdk.toolchain import compile_firmware, run_firmware
from edgesdk.train import build_training_graph

API_CHECK = Path(__file__).resolve().parent / "c" / "model_api_check.c"


def test_shapes_map_onto_es_dims_as_the_runtime_documents() -> None:
    assert es_dims(()) == (1, 1, 1, 1)
    assert es_dims((7,)) == (1, 1, 1, 7)
    assert es_dims((2, 10)) == (2, 1, 1, 10)
    assert es_dims((2, 5, 3)) == (2, 1, 5, 3)
    assert es_dims((1, 8, 8, 4)) == (1, 8, 8, 4)
    assert [es_axis(2, a) for a in (0, 1)] == [0, 3]
    assert [es_axis(3, a) for a in (0, 1, 2)] == [0, 2, 3]
    with pytest.raises(UnsupportedOpError):
        es_dims((1, 2, 3, 4, 5))


def test_float_literals_read_back_as_the_same_bits() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.standard_normal(2000).astype(np.float32) * np.float32(10.0) ** rng.integers(-30, 30, 2000),
            np.array([0.0, -0.0, 1.0, 0.1, 1e-45, 3.4028235e38, -1.1754944e-38], np.float32),
        ]
    ).astype(np.float32)
    literals = c_floats(values)
    assert all(text.endswith("f") for text in literals)
    back = np.array([float(text[:-1]) for text in literals], dtype=np.float32)
    assert np.array_equal(back.view(np.uint32), values.view(np.uint32))
    assert c_float(0.01) == "0.01f" and c_float(1) == "1.0f"
    with pytest.raises(NumericError, match="beyond float32's range"):
        c_floats(np.array([np.inf], np.float32))
    with pytest.raises(NumericError, match="1e[+]40 is beyond"):
        c_float(1e40)  # finite, but not a float32


def test_generator_refuses_what_the_runtime_cannot_run() -> None:
    b = ModelBuilder("channel_mean")
    x = b.input((1, 4, 4, 6), range=(-1.0, 1.0))
    y = b.mean(b.conv2d(x, np.ones((3, 1, 1, 6), np.float32) * 0.1, None), (3,), keep_dims=True)
    b.output(b.fully_connected(b.reshape(y, (1, 16)), np.ones((2, 16), np.float32) * 0.1, None))
    graph = build_training_graph(load_model(b.build()), "all", loss="mse")
    with pytest.raises(UnsupportedOpError, match="spatial axes"):
        assemble_model(graph)
    int8 = build_training_graph(load_model(every_op_regressor()), "all", loss="mse", precision="int8")
    assert assemble_model(int8).int8 is not None  # int8 graphs are generated (tests/test_int8_codegen.py)


def test_generated_api_from_a_separate_program(tmp_path: Path) -> None:
    """es_init / es_train_step / es_infer / es_params_save / es_params_load, argument checks and a
    save-load round trip, built with a test main under ASan + UBSan."""
    options = ProjectOptions(trainable="last:3", optimizer="adam", batch=2)
    project = generate_project(every_op_classifier(), "host", tmp_path / "project", options)
    archive = runtime_archive(tmp_path.parent / "edgesdk-runtime", sanitize=True)
    firmware = compile_firmware(
        [project.directory / "src" / "model.c", API_CHECK, archive],
        board="host",
        out_dir=tmp_path / "check",
        include_dirs=[project.directory / "src"],
        with_port=False,
        sanitize=True,
    )
    run = run_firmware(firmware).check()
    checks = {key: value for key, value in run.results.values.items() if key.startswith("check.")}
    assert len(checks) == 21
    failed = [key for key, value in checks.items() if value != 1]
    assert not failed, failed


def test_pseudo_random_batches_cover_the_input_range() -> None:
    tg = training_graph(load_model(every_op_classifier()), ProjectOptions(batch=2, precision="fp32"))
    from edgesdk.codegen import model_facts

    facts = model_facts(tg)
    batches = pseudo_random_batches(facts, 4, seed=1)
    x = np.stack([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert x.shape == (4, 2, 8, 8, 2) and labels.shape == (8,)
    low, high = facts.input_range
    assert low <= x.min() < low + 0.1 and high - 0.1 < x.max() < high
    assert set(labels.tolist()) <= set(range(4))
    again = pseudo_random_batches(facts, 4, seed=1)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))
