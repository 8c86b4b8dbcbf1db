"""Shared pieces of the code-generation tests: builder models that cover every op, a runtime
archive compiled once per session, and the C-versus-reference comparison.

Building a generated project compiles the whole runtime (about a second of gcc per build); the
equivalence matrix has dozens of projects, so the tests compile the runtime once into an archive
per flag set and hand it to :func:`edgesdk.codegen.compile_project` (``runtime_archive``), which
then compiles only the generated sources.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from edgesdk.codegen import pseudo_random_batches
from edgesdk.pipeline import GeneratedProject
from edgesdk.reference import ReferenceTrainer
from edgesdk.resources import runtime_dir
from edgesdk.targets import COMMON_CFLAGS, SANITIZE_FLAGS
from edgesdk.testing.builder import ModelBuilder
from edgesdk.toolchain.compiler import kernel_sources, port_sources, runtime_include_dir
from edgesdk.toolchain.protocol import Results
from edgesdk.train.graph import ValueKind

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# ---------------------------------------------------------------- models


def _w(rng: np.random.Generator, *shape: int, scale: float = 0.4) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def every_op_classifier() -> bytes:
    """CONV_2D, DEPTHWISE_CONV_2D (multiplier 2, stride 2, RELU6), MAX_POOL_2D, AVERAGE_POOL_2D
    (SAME, stride 2), CONCATENATION, ADD (RELU), PAD, a VALID conv, MEAN, FULLY_CONNECTED, an
    inner SOFTMAX and the trailing SOFTMAX the loss folds."""
    rng = np.random.default_rng(7)
    b = ModelBuilder("every_op_classifier")
    x = b.input((1, 8, 8, 2), range=(-1.0, 1.0))
    c1 = b.conv2d(x, _w(rng, 4, 3, 3, 2), _w(rng, 4, scale=0.1), activation="relu")
    d1 = b.depthwise_conv2d(
        c1, _w(rng, 1, 3, 3, 8), _w(rng, 8, scale=0.1), depth_multiplier=2, stride=2, activation="relu6"
    )
    m1 = b.max_pool2d(c1, 2)
    a1 = b.avg_pool2d(c1, 3, 2, padding="same")
    joined = b.concat([m1, a1], axis=3)
    s = b.add(d1, joined, activation="relu")
    p = b.pad(s, ((0, 0), (1, 1), (1, 1), (0, 0)))
    c2 = b.conv2d(p, _w(rng, 6, 3, 3, 8, scale=0.2), _w(rng, 6, scale=0.1), padding="valid")
    g = b.mean(c2, (1, 2))
    f1 = b.fully_connected(g, _w(rng, 5, 6), _w(rng, 5, scale=0.1))
    inner = b.softmax(f1)
    f2 = b.fully_connected(inner, _w(rng, 4, 5, scale=1.0), _w(rng, 4, scale=0.1))
    b.output(b.softmax(f2))
    return b.build()


def every_op_regressor() -> bytes:
    """LOGISTIC inside the network, AVERAGE_POOL_2D (VALID), RESHAPE, FC with RELU, FC without
    bias and a model output with no softmax: trained with the MSE loss."""
    rng = np.random.default_rng(11)
    b = ModelBuilder("every_op_regressor")
    x = b.input((1, 6, 6, 3), range=(0.0, 1.0))
    c = b.conv2d(x, _w(rng, 4, 1, 1, 3), _w(rng, 4, scale=0.1))
    lg = b.logistic(c)
    pooled = b.avg_pool2d(lg, 2)
    flat = b.reshape(pooled, (1, 36))
    h = b.fully_connected(flat, _w(rng, 6, 36, scale=0.3), _w(rng, 6, scale=0.1), activation="relu")
    b.output(b.fully_connected(h, _w(rng, 3, 6), None))
    return b.build()


# ---------------------------------------------------------------- a runtime archive per flag set

_ARCHIVES: dict[tuple[str, ...], Path] = {}


def runtime_archive(
    work: Path, *, sanitize: bool = False, defines: tuple[str, ...] = ("ES_PORT_HOST",)
) -> Path:
    """The runtime kernels and ports compiled once with the host flags into an archive in ``work``
    (give a directory of this test session, e.g. ``tmp_path.parent``)."""
    flags = (*COMMON_CFLAGS, "-O2", *(SANITIZE_FLAGS if sanitize else ()), *(f"-D{d}" for d in defines))
    if flags in _ARCHIVES and _ARCHIVES[flags].is_file():
        return _ARCHIVES[flags]
    out = work / ("runtime-sanitize" if sanitize else "runtime")
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in [*kernel_sources(), *port_sources()]:
        obj = out / (source.parent.name + "_" + source.stem + ".o")
        subprocess.run(
            [
                "gcc",
                *flags,
                f"-I{runtime_include_dir()}",
                f"-I{runtime_dir() / 'src'}",
                "-c",
                str(source),
                "-o",
                str(obj),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        objects.append(str(obj))
    archive = out / "libedgesdk_runtime.a"
    subprocess.run(["ar", "rcs", str(archive), *objects], check=True, capture_output=True)
    _ARCHIVES[flags] = archive
    return archive


# ---------------------------------------------------------------- C versus reference


@dataclass(frozen=True)
class Comparison:
    c_losses: list[float]
    ref_losses: list[float]
    worst_loss: float  # max |c - ref| / max(1, |ref|)
    worst_update: float  # max over parameters of max|dC - dRef| / max|dRef| (d: change from the start)
    worst_param: str
    c_params: dict[str, np.ndarray]
    ref_params: dict[str, np.ndarray]
    c_output: np.ndarray | None
    ref_output: np.ndarray | None


def c_parameters(project: GeneratedProject, results: Results) -> dict[str, np.ndarray]:
    """The parameters the firmware reported (es_params_save), by value name."""
    blob = np.asarray(results["params"], dtype=np.float32)
    params = {}
    for saved in project.model.saved_params:
        start = saved.offset // 4
        params[saved.value] = blob[start : start + saved.count].reshape(saved.shape)
    return params


def compare_with_reference(project: GeneratedProject, results: Results, steps: int) -> Comparison:
    """Replay the demo's pseudo-random steps in the numpy reference and compare."""
    graph = project.graph
    trainer = ReferenceTrainer(graph)
    batches = pseudo_random_batches(project.facts, steps)
    ref_losses = [trainer.train_step(x, y) for x, y in batches]
    c_losses = results.all("step.loss")
    worst_loss = max(abs(c - r) / max(1.0, abs(r)) for c, r in zip(c_losses, ref_losses, strict=True))
    c_params = c_parameters(project, results)
    worst_update, worst_param = 0.0, ""
    for name, c_value in c_params.items():
        value = graph.value(name)
        assert value.kind is ValueKind.PARAMETER and value.tensor is not None
        start = graph.source.tensor(value.tensor).dequantized()
        ref_delta = trainer.state[name] - start
        scale = float(np.abs(ref_delta).max())
        error = float(np.abs((c_value - start) - ref_delta).max())
        relative = error / scale if scale > 0 else error
        if relative >= worst_update:
            worst_update, worst_param = relative, name
    c_output = ref_output = None
    if "infer.output" in results:
        c_output = np.asarray(results["infer.output"], dtype=np.float32)
        ref_output = trainer.infer(batches[-1][0]).reshape(-1)
    return Comparison(
        c_losses,
        ref_losses,
        worst_loss,
        worst_update,
        worst_param,
        c_params,
        {k: trainer.state[k] for k in c_params},
        c_output,
        ref_output,
    )


def float_bits(values: list[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)
