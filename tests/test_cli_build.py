"""`edgesdk build` and `edgesdk run` from the command line: the project they write, the demo with
an embedded data set (checked against the numpy reference), the emulated board path the digits
demo uses, and the messages for every mistake a user can make (never a traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from codegen_support import FIXTURES, every_op_classifier, runtime_archive
from edgesdk.cli import main
from edgesdk.codegen.manifest import MANIFEST
from edgesdk.frontend import load_model
from edgesdk.pipeline import compile_project
from edgesdk.reference import ReferenceTrainer
from edgesdk.testing.builder import ModelBuilder
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.firmware import summarize


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _assert_clean_error(code: int, stderr: str, *phrases: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    for phrase in phrases:
        assert phrase in stderr, stderr


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "classifier.tflite"
    path.write_bytes(every_op_classifier())
    return path


def _dataset(path: Path, train: int = 48, test: int = 21) -> Path:
    """A learnable 4-class task for the classifier's [8, 8, 2] input: the class is the argmax of
    a fixed linear map of the image."""
    rng = np.random.default_rng(5)
    mixing = rng.standard_normal((128, 4)).astype(np.float32)
    x = rng.uniform(-1.0, 1.0, size=(train + test, 8, 8, 2)).astype(np.float32)
    y = np.argmax(x.reshape(len(x), -1) @ mixing, axis=1).astype(np.int32)
    np.savez(path, x_train=x[:train], y_train=y[:train], x_test=x[train:], y_test=y[train:])
    return path


# ---------------------------------------------------------------- the project it writes


def test_build_writes_a_marked_project_with_documented_api(tmp_path: Path, classifier_file: Path) -> None:
    out = tmp_path / "fw"
    code, stdout, stderr = _cli(
        "build",
        str(classifier_file),
        "--board",
        "host",
        "-o",
        str(out),
        "--trainable",
        "last:2",
        "--optimizer",
        "momentum",
        "--lr",
        "0.02",
    )
    assert code == 0, stderr
    assert "arena" in stdout and "lifetime peak" in stdout
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["generator"] == "edgesdk" and manifest["board"] == "host"
    assert manifest["options"]["optimizer"]["kind"] == "momentum"
    assert manifest["options"]["optimizer"]["lr"] == pytest.approx(0.02)
    header = (out / "src" / "model.h").read_text()
    for api in (
        "es_init(void)",
        "es_train_step(const float *x, const es_label *labels, float *loss)",
        "es_infer(const float *x, float *out)",
        "es_params_save(void *buf, size_t len)",
        "es_params_load(const void *buf, size_t len)",
        "#define ES_MODEL_PARAMS_BYTES",
        "#define ES_MODEL_ARENA_BYTES",
    ):
        assert api in header
    source = (out / "src" / "model.c").read_text()
    # banner sections in order; frozen weights const (flash), trainable copies in RAM, one arena
    sections = [
        "weights (flash)",
        "trainable state (RAM)",
        "optimizer state (RAM)",
        "arena",
        "shapes and kernel parameters",
        "optimizer",
        "forward",
        "training step",
        "inference",
    ]
    positions = [source.index(f"==== {title} =") for title in sections]
    assert positions == sorted(positions)
    assert "static const float conv_2d_0_w[" in source  # frozen with last:2
    assert "static float fully_connected_11_w[" in source and "fully_connected_11_w_init[" in source
    assert source.count("static float es_arena[") == 1 and "malloc" not in source
    layout = json.loads((out / "arena.json").read_text())
    assert layout["size"] >= layout["peak"] > 0
    assert (out / "Makefile").is_file() and (out / "lib" / "edgesdk_runtime" / "library.json").is_file()


def test_generated_makefile_builds_without_edgesdk(tmp_path: Path, classifier_file: Path) -> None:
    out = tmp_path / "fw"
    assert _cli("build", str(classifier_file), "-o", str(out), "--steps", "2")[0] == 0
    done = subprocess.run(["make", "-s", "-C", str(out), "run"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("@es step.loss ") == 2


def test_build_refuses_a_directory_it_did_not_make(tmp_path: Path, classifier_file: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, stderr = _cli("build", str(classifier_file), "-o", str(out), "--force")
    _assert_clean_error(code, stderr, "not empty and was not made by edgesdk")
    assert (out / "notes.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1


def test_build_replaces_its_own_project_only_with_force(tmp_path: Path, classifier_file: Path) -> None:
    out = tmp_path / "fw"
    assert _cli("build", str(classifier_file), "-o", str(out))[0] == 0
    code, _, stderr = _cli("build", str(classifier_file), "-o", str(out), "--optimizer", "adam")
    _assert_clean_error(code, stderr, "--force")
    assert json.loads((out / MANIFEST).read_text())["options"]["optimizer"]["kind"] == "sgd"
    assert _cli("build", str(classifier_file), "-o", str(out), "--optimizer", "adam", "--force")[0] == 0
    assert json.loads((out / MANIFEST).read_text())["options"]["optimizer"]["kind"] == "adam"


# ---------------------------------------------------------------- mistakes


def test_unknown_board_names_the_closest(tmp_path: Path, classifier_file: Path) -> None:
    code, _, stderr = _cli("build", str(classifier_file), "--board", "stm32f764", "-o", str(tmp_path / "x"))
    _assert_clean_error(code, stderr, "stm32f746")
    assert not (tmp_path / "x").exists()


def test_model_errors_are_messages(tmp_path: Path) -> None:
    code, _, stderr = _cli("build", str(tmp_path / "missing.tflite"), "-o", str(tmp_path / "a"))
    _assert_clean_error(code, stderr, "does not exist")
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer at all" * 10)
    code, _, stderr = _cli("build", str(garbage), "-o", str(tmp_path / "b"))
    _assert_clean_error(code, stderr, "not a TFLite model")
    # an op setting the fp32 C runtime cannot train: softmax with beta != 1 (int8 can)
    b = ModelBuilder("beta")
    x = b.input((1, 6), range=(-1.0, 1.0))
    b.output(b.softmax(b.fully_connected(x, np.eye(4, 6, dtype=np.float32), None), beta=0.5))
    model = tmp_path / "beta.tflite"
    model.write_bytes(b.build())
    code, _, stderr = _cli("build", str(model), "-o", str(tmp_path / "c"), "--precision", "fp32")
    _assert_clean_error(code, stderr, "beta 0.5", "beta 1 only")
    code, _, stderr = _cli("build", str(model), "-o", str(tmp_path / "d"), "--trainable", "last:5")
    _assert_clean_error(code, stderr, "last:5")


def test_data_errors_are_messages(tmp_path: Path, classifier_file: Path) -> None:
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros((4, 8, 8, 2), np.float32), y_train=np.zeros(4, np.int32))
    code, _, stderr = _cli("build", str(classifier_file), "-o", str(tmp_path / "a"), "--data", str(partial))
    _assert_clean_error(code, stderr, "x_test", "y_test")
    wrong = tmp_path / "wrong.npz"
    np.savez(
        wrong,
        x_train=np.zeros((4, 8, 8, 3), np.float32),
        y_train=np.zeros(4, np.int32),
        x_test=np.zeros((2, 8, 8, 3), np.float32),
        y_test=np.zeros(2, np.int32),
    )
    code, _, stderr = _cli("build", str(classifier_file), "-o", str(tmp_path / "b"), "--data", str(wrong))
    _assert_clean_error(code, stderr, "192 values per sample", "128")
    classes = tmp_path / "classes.npz"
    np.savez(
        classes,
        x_train=np.zeros((4, 8, 8, 2), np.float32),
        y_train=np.full(4, 7, np.int32),
        x_test=np.zeros((2, 8, 8, 2), np.float32),
        y_test=np.zeros(2, np.int32),
    )
    code, _, stderr = _cli("build", str(classifier_file), "-o", str(tmp_path / "c"), "--data", str(classes))
    _assert_clean_error(code, stderr, "4 classes")


def test_run_needs_a_project(tmp_path: Path) -> None:
    code, _, stderr = _cli("run", str(tmp_path))
    _assert_clean_error(code, stderr, "not a project made by `edgesdk build`")


def test_missing_cross_compiler_is_a_message_with_the_install_command(
    tmp_path: Path, classifier_file: Path
) -> None:
    out = tmp_path / "fw"
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgesdk",
            "build",
            str(classifier_file),
            "--board",
            "stm32f746",
            "-o",
            str(out),
            "--compile",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "arm-none-eabi-gcc" in done.stderr and "apt-get install" in done.stderr


# ---------------------------------------------------------------- the demo with data


def _reference_demo(model: Path, data: Path, trainable: str, lr: float, batch: int, epochs: int):  # type: ignore[no-untyped-def]
    """What the demo main computes, in the numpy reference: correct test rows before and after,
    the mean loss of every epoch (summed in float32 in step order, as the C does)."""
    from edgesdk.pipeline import ProjectOptions, training_graph

    options = ProjectOptions(trainable=trainable, lr=lr, batch=batch, precision="fp32")  # as the builds ask
    graph = training_graph(load_model(model), options)
    trainer = ReferenceTrainer(graph)
    arrays = np.load(data)
    x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))

    def correct() -> int:
        total = 0
        for start in range(0, len(x_test), batch):
            chunk = x_test[start : start + batch]
            padded = np.zeros((batch, *chunk.shape[1:]), np.float32)
            padded[: len(chunk)] = chunk
            predicted = trainer.infer(padded).reshape(batch, -1).argmax(axis=1)[: len(chunk)]
            total += int(np.sum(predicted == y_test[start : start + batch]))
        return total

    before = correct()
    losses = []
    steps = len(x_train) // batch
    for _ in range(epochs):
        total = np.float32(0)
        for step in range(steps):
            first = step * batch
            total = np.float32(
                total
                + np.float32(
                    trainer.train_step(x_train[first : first + batch], y_train[first : first + batch])
                )
            )
        losses.append(float(total / np.float32(steps)))
    return before, correct(), losses


def test_demo_with_data_on_host_matches_reference(tmp_path: Path, classifier_file: Path) -> None:
    data = _dataset(tmp_path / "user.npz")
    out = tmp_path / "fw"
    code, stdout, stderr = _cli(
        "build",
        str(classifier_file),
        "-o",
        str(out),
        "--trainable",
        "all",
        "--lr",
        "0.05",
        "--batch",
        "2",
        "--data",
        str(data),
        "--epochs",
        "3",
        "--precision",
        "fp32",
        "--compile",
    )
    assert code == 0, stderr
    assert "48 training and 21 test samples embedded" in stdout
    code, stdout, stderr = _cli("run", str(out), "--json")
    assert code == 0, stderr
    document = json.loads(stdout)
    results = document["results"]
    before, after, losses = _reference_demo(classifier_file, data, "all", 0.05, 2, 3)
    assert results["test_samples"] == 21
    assert (
        abs(results["accuracy_before"] * 21 - before) <= 1
        and abs(results["accuracy_after"] * 21 - after) <= 1
    )
    assert results["epoch_losses"] == pytest.approx(losses, rel=1e-4)
    assert results["epoch_losses"][-1] < results["epoch_losses"][0]  # it learns
    assert results["train_steps"] == 3 * 24 and results["nanoseconds_per_step"] > 0
    code, stdout, _ = _cli("run", str(out))
    assert code == 0 and "accuracy after training" in stdout and "loss per epoch" in stdout
    # a source edited after the build is compiled again before the next run
    firmware = Path(document["firmware"])  # absolute: the project was given as an absolute path
    built_at = firmware.stat().st_mtime
    os.utime(out / "src" / "main.c", (built_at + 5, built_at + 5))
    assert _cli("run", str(out))[0] == 0 and firmware.stat().st_mtime > built_at
    # the demo with its data set, under AddressSanitizer + UndefinedBehaviorSanitizer: same results
    archive = runtime_archive(tmp_path.parent / "edgesdk-runtime", sanitize=True)
    sanitized = run_firmware(
        compile_project(out, "host", sanitize=True, runtime_archive=archive).firmware
    ).check()
    assert summarize(sanitized.results)["epoch_losses"] == results["epoch_losses"]


def test_digits_demo_path_on_emulated_stm32f746(tmp_path: Path, classifier_file: Path) -> None:
    """The command sequence examples/digits runs: build --board stm32f746 --data ... --compile, then
    run --emulate --json; the emulated results are the host build's, bit for bit."""
    data = _dataset(tmp_path / "user.npz", train=20, test=9)
    out = tmp_path / "build" / "demo"
    code, stdout, stderr = _cli(
        "build",
        str(classifier_file),
        "--board",
        "stm32f746",
        "-o",
        str(out),
        "--trainable",
        "last:2",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--batch",
        "1",
        "--data",
        str(data),
        "--epochs",
        "2",
        "--compile",
    )
    assert code == 0, stderr
    assert "with platformio" in stdout and "RAM total" in stdout and "flash" in stdout
    code, stdout, stderr = _cli("run", str(out), "--emulate", "--json")
    assert code == 0, stderr
    emulated = json.loads(stdout)
    assert emulated["target"] == "emulated" and emulated["built_with"] == "platformio"
    values = emulated["results"]
    for key in ("accuracy_before", "accuracy_after", "instructions_per_step", "stack_high_water_bytes"):
        assert key in values, key
    assert values["instructions_per_step"] > 1000 and 0 < values["stack_high_water_bytes"] < 8192
    host = json.loads(_cli("run", str(out), "--host", "--json")[1])["results"]
    assert host["epoch_losses"] == values["epoch_losses"]  # exact float equality: same bits
    assert (
        host["accuracy_before"] == values["accuracy_before"]
        and host["accuracy_after"] == values["accuracy_after"]
    )


def test_build_uses_the_fixture_model_name(tmp_path: Path) -> None:
    code, stdout, stderr = _cli(
        "build",
        str(FIXTURES / "small_cnn_int8.tflite"),
        "-o",
        str(tmp_path / "fw"),
        "--trainable",
        "bias",
        "--optimizer",
        "adam:lr=0.001",
    )
    assert code == 0, stderr
    manifest = json.loads((tmp_path / "fw" / MANIFEST).read_text())
    assert manifest["model"]["name"] == "small_cnn_int8.tflite" and len(manifest["model"]["sha256"]) == 64
    assert manifest["options"]["optimizer"]["lr"] == pytest.approx(0.001)
    assert all(p["value"].endswith(".b") for p in manifest["params"])


def test_regression_demo_with_data_reports_mse(tmp_path: Path) -> None:
    """An MSE model with float targets, batch 3 and a partial last test batch."""
    from codegen_support import every_op_regressor
    from edgesdk.pipeline import ProjectOptions, generate_project

    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (30, 6, 6, 3)).astype(np.float32)
    y = np.stack([x.mean(axis=(1, 2, 3)), x[:, :3].mean(axis=(1, 2, 3)), x[..., 0].mean(axis=(1, 2))], 1)
    data = tmp_path / "targets.npz"
    np.savez(data, x_train=x[:20], y_train=y[:20], x_test=x[20:], y_test=y[20:])
    options = ProjectOptions(lr=0.1, batch=3, data=data, epochs=4, precision="fp32")
    project = generate_project(every_op_regressor(), "host", tmp_path / "fw", options)
    archive = runtime_archive(tmp_path.parent / "edgesdk-runtime")
    run = run_firmware(compile_project(project.directory, "host", runtime_archive=archive).firmware).check()
    summary = summarize(run.results)

    trainer = ReferenceTrainer(project.graph)

    def mse() -> float:
        padded = np.zeros((12, 6, 6, 3), np.float32)
        padded[:10] = x[20:]
        out = np.concatenate([trainer.infer(padded[i : i + 3]).reshape(3, 3) for i in range(0, 12, 3)])[:10]
        return float(np.mean((out - y[20:]) ** 2))

    before = mse()
    for _ in range(4):
        for first in range(0, 18, 3):
            trainer.train_step(x[first : first + 3], y[first : first + 3])
    assert summary["mse_before"] == pytest.approx(before, rel=1e-5)
    assert summary["mse_after"] == pytest.approx(mse(), rel=1e-4)
    assert summary["mse_after"] < summary["mse_before"] / 5 and summary["train_steps"] == 4 * 6


def test_build_summary_prints_the_int8_builds_own_byte_counts(tmp_path: Path) -> None:
    """int8 parameters take 1 byte an element and the input batch sits in the arena: the summary
    prints the header's figures, not float32 ones."""
    out = tmp_path / "fw"
    code, stdout, stderr = _cli(
        "build", str(FIXTURES / "small_cnn_int8.tflite"), "--board", "host", "-o", str(out),
        "--precision", "int8", "--trainable", "last:2", "--lr", "0.01",
    )
    assert code == 0, stderr
    header = (out / "src" / "model.h").read_text()

    def macro(name: str) -> int:
        line = next(line for line in header.splitlines() if line.startswith(f"#define {name} "))
        return int(line.split()[2])

    def printed(label: str) -> int:
        line = next(line for line in stdout.splitlines() if line.strip().startswith(label))
        return int(line.strip()[len(label):].split()[0].replace(",", ""))

    assert printed("arena") == macro("ES_MODEL_ARENA_BYTES")
    assert printed("RAM state") == macro("ES_MODEL_STATE_BYTES")
    source = (out / "src" / "model.c").read_text()
    weights = source.split("==== weights (flash)")[1].split("==== trainable state (RAM)")[0]
    item = {"int8_t": 1, "int32_t": 4}
    arrays = re.findall(r"static const (int8_t|int32_t) \w+\[(\d+)\]", weights)
    assert {ctype for ctype, _ in arrays} == {"int8_t", "int32_t"}
    assert printed("flash data") == sum(item[ctype] * int(count) for ctype, count in arrays)
