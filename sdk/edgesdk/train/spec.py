"""What to train and how: trainable selection, loss, optimizer and precision, with their CLI spellings.

- Trainable selection (``TrainableSpec.parse``): ``all``, ``last:K``, ``bias``, ``sparse:FILE``.
- Loss (``LossKind.parse``): ``softmax_xent`` (integer labels) or ``mse``.
- Optimizer (``OptimizerSpec.parse``): ``sgd``, ``momentum`` or ``adam``, optionally followed by
  ``:key=value,...`` with keys lr, momentum, beta1, beta2, eps, weight_decay.

A sparse-update FILE is a JSON object keyed by layer; each entry says which share of the layer's
output channels of the weight is updated (the first ``ceil(weight_ratio * channels)``) and whether
the bias is updated::

    {"conv_2d_0": {"weight_ratio": 0.25, "bias": true},
     "7": {"bias": true},
     "sequential/dense/MatMul": {"weight_ratio": 1.0, "bias": true}}

A layer key is the op index ("7"), the layer label (``<op kind lower case>_<op index>``, as in node
names), or the name of the layer's weight or output tensor. Missing fields mean weight_ratio 0 and
bias false; layers not listed are frozen.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

import numpy as np

from edgesdk import ir
from edgesdk.errors import TrainingError

PARAMETERIZED = (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D, ir.OpKind.FULLY_CONNECTED)


def layer_label(op: ir.Op) -> str:
    """The readable, unique name of an op used in node and value names: ``conv_2d_3``."""
    return f"{op.kind.value.lower()}_{op.index}"


class Precision(enum.Enum):
    """Storage precision of forward activations and parameters (gradients are always float32).

    ``fp32``: everything float32 (weights dequantized at build time). ``int8``: activations and
    parameters keep the model's dtypes (int8 activations and weights, int32 biases).
    """

    FP32 = "fp32"
    INT8 = "int8"

    @classmethod
    def parse(cls, text: str | Precision) -> Precision:
        return _parse_enum(cls, text, "precision")


class Rounding(enum.Enum):
    """How a QAS step (a float number of integer units) becomes an integer step."""

    NEAREST = "nearest"  # roundf: nearest, ties away from zero
    STOCHASTIC = "stochastic"  # floorf(d + u), u uniform in [0, 1) from the graph's xorshift32 stream


DEFAULT_SEED = 0x2545F491  # the xorshift32 state stochastic rounding starts from (any nonzero uint32)


@dataclass(frozen=True)
class Int8Training:
    """How an ``int8`` training graph updates its int8 weights and int32 biases.

    - ``qas``: quantization-aware scaling (MCUNetV3): the float32 gradient is divided by the
      parameter's scale twice, so the integer step is ``lr * grad / s``, the float SGD step in integer
      units; without it the step is ``lr * grad * s`` (for comparison: it barely moves anything);
    - ``rounding``: nearest or stochastic (one xorshift32 draw per updated element, in graph order);
    - ``master``: keep a float32 copy of the trainable channels in integer units; the step is
      subtracted from it and the integer parameter is ``roundf`` of it (fractions are not lost);
    - ``fused``: compute each weight (and bias) gradient chunk by chunk inside the update node, so no
      gradient buffer exists (the default); ``False`` keeps ``bwd_w``/``bwd_b`` nodes and separate
      ``qas_update_*`` nodes;
    - ``seed``: where stochastic rounding's xorshift32 stream starts (:attr:`rng_start`);
    - ``fuse``: compute a frozen convolution together with the depthwise convolution that alone
      reads its output, and a MEAN's backward together with the activation backward that alone
      reads its gradient, so the tensors between them are never stored (:mod:`edgesdk.train.fuse`;
      the default); ``False`` keeps every pair as two nodes.

    CLI spelling (``parse``): comma-separated words ``qas``/``noqas``, ``nearest``/``stochastic``,
    ``master``, ``fused``/``unfused``, ``fuse``/``nofuse``, ``seed=N``; e.g.
    ``"stochastic,unfused,nofuse"``.
    """

    qas: bool = True
    rounding: Rounding = Rounding.NEAREST
    master: bool = False
    fused: bool = True
    seed: int = DEFAULT_SEED
    fuse: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounding", _parse_enum(Rounding, self.rounding, "rounding"))
        if not 0 < int(self.seed) < 2**32:
            raise TrainingError(f"the stochastic rounding seed must be in [1, 2^32 - 1], got {self.seed}")
        if self.master and self.rounding is Rounding.STOCHASTIC:
            raise TrainingError(
                "stochastic rounding has no use with a float32 master copy (the master keeps the "
                "fractions); choose master or stochastic, not both"
            )

    @property
    def rng_start(self) -> int:
        """The xorshift32 state a training run starts from: the seed scrambled (MurmurHash3's
        32-bit finalizer), so that small seeds do not start with a run of small draws."""
        h = int(self.seed) & 0xFFFFFFFF
        h ^= h >> 16
        h = (h * 0x85EBCA6B) & 0xFFFFFFFF
        h ^= h >> 13
        h = (h * 0xC2B2AE35) & 0xFFFFFFFF
        h ^= h >> 16
        return h or DEFAULT_SEED

    @classmethod
    def parse(cls, text: str | Int8Training | None) -> Int8Training:
        if text is None:
            return cls()
        if isinstance(text, Int8Training):
            return text
        options: dict[str, object] = {}
        words = {
            "qas": ("qas", True),
            "noqas": ("qas", False),
            "nearest": ("rounding", Rounding.NEAREST),
            "stochastic": ("rounding", Rounding.STOCHASTIC),
            "master": ("master", True),
            "fused": ("fused", True),
            "unfused": ("fused", False),
            "fuse": ("fuse", True),
            "nofuse": ("fuse", False),
        }
        for item in filter(None, (part.strip().lower() for part in text.split(","))):
            if item.startswith("seed="):
                try:
                    options["seed"] = int(item[5:], 0)
                except ValueError:
                    raise TrainingError(f"int8 option {item!r} needs an integer seed") from None
            elif item in words:
                key, value = words[item]
                options[key] = value
            else:
                raise TrainingError(
                    f"int8 training option {item!r} is not understood; use comma-separated words "
                    f"from {', '.join(words)} and seed=N"
                )
        return cls(**options)  # type: ignore[arg-type]


class LossKind(enum.Enum):
    SOFTMAX_XENT = "softmax_xent"
    MSE = "mse"

    @classmethod
    def parse(cls, text: str | LossKind) -> LossKind:
        return _parse_enum(cls, text, "loss")


class OptimizerKind(enum.Enum):
    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"


@dataclass(frozen=True)
class OptimizerSpec:
    """Optimizer and its hyper-parameters, in PyTorch's conventions (see docs/training-graph.md)."""

    kind: OptimizerKind = OptimizerKind.SGD
    lr: float = 0.01
    momentum: float = 0.9  # MOMENTUM only
    beta1: float = 0.9  # ADAM only
    beta2: float = 0.999  # ADAM only
    eps: float = 1e-8  # ADAM only
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise TrainingError(f"learning rate must be a positive number, got {self.lr}")
        if self.weight_decay < 0:
            raise TrainingError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("momentum", "beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise TrainingError(f"{name} must be in [0, 1), got {value}")
        if self.eps <= 0:
            raise TrainingError(f"eps must be > 0, got {self.eps}")
        self._check_float32()

    def _check_float32(self) -> None:
        """The device computes in float32: a hyper-parameter that rounds to 0 or 1 (or overflows)
        there changes the mathematics (eps 1e-50 divides by zero; beta2 0.9999999999 makes Adam's
        bias correction 1 - beta2^t zero), so it is refused here rather than diverging on the device."""
        for name in ("lr", "momentum", "beta1", "beta2", "eps", "weight_decay"):
            value = float(getattr(self, name))
            single = float(np.float32(value)) if abs(value) < 3.4e38 else math.inf
            if not math.isfinite(single):
                raise TrainingError(f"{name} = {value:g} overflows float32, which the device computes in; "
                                    "give a value below 3.4e38")
            if value != 0.0 and single == 0.0:
                none = " (or 0 for none)" if name in ("momentum", "beta1", "beta2", "weight_decay") else ""
                raise TrainingError(f"{name} = {value:g} rounds to 0 in float32, which the device computes "
                                    f"in; give a value of at least 1.2e-38{none}")
            if name in ("momentum", "beta1", "beta2") and single >= 1.0:
                raise TrainingError(f"{name} = {value!r} rounds to 1 in float32, which the device computes "
                                    "in (the update would never forget, or divide by zero); give at most "
                                    "0.99999994")

    @property
    def state_names(self) -> tuple[str, ...]:
        """Per-parameter state buffers, in the order the update kernel reads them."""
        return {OptimizerKind.SGD: (), OptimizerKind.MOMENTUM: ("v",), OptimizerKind.ADAM: ("m", "v")}[
            self.kind
        ]

    @classmethod
    def parse(cls, text: str | OptimizerSpec) -> OptimizerSpec:
        """``sgd``, ``momentum:lr=0.05,momentum=0.8``, ``adam:lr=1e-3,weight_decay=1e-4``..."""
        if isinstance(text, OptimizerSpec):
            return text
        head, _, tail = text.strip().partition(":")
        kind = _parse_enum(OptimizerKind, head, "optimizer")
        known = {f.name for f in fields(cls)} - {"kind"}
        values: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in tail.split(","))):
            key, eq, raw = item.partition("=")
            key = key.strip()
            if not eq or key not in known:
                raise TrainingError(
                    f"optimizer option {item!r} is not understood; write key=value with key one of "
                    f"{', '.join(sorted(known))}"
                )
            try:
                values[key] = float(raw)
            except ValueError:
                raise TrainingError(f"optimizer option {key} needs a number, got {raw!r}") from None
        return cls(kind=kind, **values)


@dataclass(frozen=True)
class LayerTraining:
    """How one parameterized layer trains: share of weight output channels, and the bias."""

    weight_ratio: float = 0.0
    bias: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight_ratio <= 1.0:
            raise TrainingError(f"weight_ratio must be in [0, 1], got {self.weight_ratio}")

    def weight_channels(self, out_channels: int) -> int:
        """The first ``ceil(ratio * out_channels)`` output channels are updated (at least one when
        the ratio is positive; a 1e-9 guard keeps 0.3 * 10 at 3)."""
        if self.weight_ratio <= 0:
            return 0
        return max(1, min(out_channels, math.ceil(self.weight_ratio * out_channels - 1e-9)))


class TrainableMode(enum.Enum):
    ALL = "all"
    LAST = "last"
    BIAS = "bias"
    SPARSE = "sparse"


@dataclass(frozen=True)
class TrainableSpec:
    """Which parameters train. Build with :meth:`parse` or the class methods; resolve on a graph."""

    mode: TrainableMode = TrainableMode.ALL
    last: int = 0  # LAST: number of trailing parameterized layers
    layers: Mapping[str, LayerTraining] = field(default_factory=dict)  # SPARSE: layer key -> training

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", MappingProxyType(dict(self.layers)))

    @classmethod
    def all(cls) -> TrainableSpec:
        return cls(TrainableMode.ALL)

    @classmethod
    def last_k(cls, k: int) -> TrainableSpec:
        if k < 1:
            raise TrainingError(f"last:K needs K >= 1, got {k}")
        return cls(TrainableMode.LAST, last=k)

    @classmethod
    def bias_only(cls) -> TrainableSpec:
        return cls(TrainableMode.BIAS)

    @classmethod
    def sparse(cls, layers: Mapping[str | int, LayerTraining | tuple[float, bool]]) -> TrainableSpec:
        resolved = {
            str(key): value if isinstance(value, LayerTraining) else LayerTraining(*value)
            for key, value in layers.items()
        }
        return cls(TrainableMode.SPARSE, layers=resolved)

    @classmethod
    def parse(cls, text: str | TrainableSpec) -> TrainableSpec:
        """``all``, ``last:K``, ``bias`` or ``sparse:FILE`` (FILE: JSON, see the module docstring)."""
        if isinstance(text, TrainableSpec):
            return text
        head, _, arg = text.strip().partition(":")
        if head == "all" and not arg:
            return cls.all()
        if head == "bias" and not arg:
            return cls.bias_only()
        if head == "last":
            try:
                return cls.last_k(int(arg))
            except ValueError:
                raise TrainingError(f"last:K needs an integer K, got {arg!r}") from None
        if head == "sparse" and arg:
            return cls.sparse(_read_sparse_file(Path(arg)))
        raise TrainingError(
            f"trainable selection {text!r} is not understood; use all, last:K, bias or sparse:FILE"
        )

    def resolve(self, graph: ir.Graph) -> dict[int, LayerTraining]:
        """Op index -> training, for every parameterized op of ``graph`` that trains something."""
        layers = [op for op in graph.ops if op.kind in PARAMETERIZED]
        if self.mode is TrainableMode.ALL:
            chosen = {op.index: LayerTraining(1.0, True) for op in layers}
        elif self.mode is TrainableMode.BIAS:
            chosen = {op.index: LayerTraining(0.0, True) for op in layers}
        elif self.mode is TrainableMode.LAST:
            if self.last > len(layers):
                raise TrainingError(
                    f"last:{self.last} asks for more layers than the model has ({len(layers)} "
                    f"parameterized layers); use last:{len(layers)} or all"
                )
            chosen = {op.index: LayerTraining(1.0, True) for op in layers[len(layers) - self.last :]}
        else:
            names = _layer_names(graph, layers)
            chosen = {}
            for key, training in self.layers.items():
                if key not in names:
                    known = ", ".join(sorted({layer_label(op) for op in layers}))
                    raise TrainingError(
                        f"sparse update names layer {key!r}, which is not a parameterized layer of the "
                        f"model; use an op index, a layer label or a weight/output tensor name ({known})"
                    )
                index = names[key]
                if index in chosen and chosen[index] != training:
                    raise TrainingError(f"sparse update gives layer {key!r} twice with different settings")
                chosen[index] = training
        return {
            index: training
            for index, training in sorted(chosen.items())
            if _trains_something(graph.ops[index], training)
        }


def _trains_something(op: ir.Op, training: LayerTraining) -> bool:
    has_bias = len(op.inputs) > 2 and op.inputs[2] != ir.NO_TENSOR
    return training.weight_ratio > 0 or (training.bias and has_bias)


def _layer_names(graph: ir.Graph, layers: list[ir.Op]) -> dict[str, int]:
    names: dict[str, int] = {}
    for op in layers:
        for key in (
            str(op.index),
            layer_label(op),
            graph.tensor(op.inputs[1]).name,
            graph.tensor(op.outputs[0]).name,
        ):
            names.setdefault(key, op.index)
    return names


def _read_sparse_file(path: Path) -> dict[str, LayerTraining]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise TrainingError(f"sparse update file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TrainingError(f"sparse update file {str(path)!r} is not readable JSON: {error}") from None
    if not isinstance(document, dict):
        raise TrainingError(f"sparse update file {str(path)!r} must hold a JSON object keyed by layer")
    layers: dict[str, LayerTraining] = {}
    for key, entry in document.items():
        if not isinstance(entry, dict) or set(entry) - {"weight_ratio", "bias"}:
            raise TrainingError(
                f"sparse update entry {key!r} must be an object with optional keys weight_ratio "
                f"(number in [0, 1]) and bias (true/false), got {entry!r}"
            )
        ratio = entry.get("weight_ratio", 0.0)
        bias = entry.get("bias", False)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not isinstance(bias, bool):
            raise TrainingError(
                f"sparse update entry {key!r}: weight_ratio must be a number and bias a boolean"
            )
        layers[str(key)] = LayerTraining(float(ratio), bias)
    return layers


def _parse_enum(cls, text, what: str):  # type: ignore[no-untyped-def]
    if isinstance(text, cls):
        return text
    for member in cls:
        if member.value == str(text).strip().lower():
            return member
    raise TrainingError(f"{what} {text!r} is not known; use one of {', '.join(m.value for m in cls)}")
