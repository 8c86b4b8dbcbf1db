"""Training graphs generated from layer shapes, for benchmarks and tests (graph JSON dicts).

The step has the shape edgesdk's training graphs have: int8 forward (one node per layer, fused
activations), a softmax cross-entropy loss, float32 backward (activation backward from the saved
output, input gradients, gradient sums where a value feeds several layers) and one update node per
trainable layer that computes the weight gradient tile by tile and applies it in place (so no
weight-gradient buffer exists) after a bias-gradient node. Resident state is left at 0 unless asked
for: it only shifts every budget by a constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Layer:
    name: str
    op: str  # input | conv | dwconv | fc | add | relu | mean
    inputs: tuple[str, ...]
    out: tuple[int, int, int]  # h, w, c
    macs: int = 0
    params: int = 0
    act: bool = False  # fused ReLU / ReLU6
    workspace: int = 0


class _Net:
    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.shape: dict[str, tuple[int, int, int]] = {}

    def add(self, layer: Layer) -> str:
        self.layers.append(layer)
        self.shape[layer.name] = layer.out
        return layer.name

    def input(self, h: int, w: int, c: int) -> str:
        return self.add(Layer("input", "input", (), (h, w, c)))

    def conv(self, name: str, x: str, cout: int, k: int, stride: int, act: bool) -> str:
        h, w, cin = self.shape[x]
        ho, wo = -(-h // stride), -(-w // stride)
        macs = ho * wo * cout * k * k * cin
        workspace = 2 * k * k * cin * 2 if k > 1 else 0  # two int16 im2col columns
        return self.add(
            Layer(name, "conv", (x,), (ho, wo, cout), macs, k * k * cin * cout + cout, act, workspace)
        )

    def dwconv(self, name: str, x: str, k: int, stride: int, act: bool) -> str:
        h, w, c = self.shape[x]
        ho, wo = -(-h // stride), -(-w // stride)
        return self.add(Layer(name, "dwconv", (x,), (ho, wo, c), ho * wo * c * k * k, k * k * c + c, act))

    def relu(self, name: str, x: str) -> str:
        return self.add(Layer(name, "relu", (x,), self.shape[x]))

    def sum(self, name: str, a: str, b: str, act: bool) -> str:
        return self.add(Layer(name, "add", (a, b), self.shape[a], act=act))

    def mean(self, name: str, x: str) -> str:
        h, w, c = self.shape[x]
        return self.add(Layer(name, "mean", (x,), (1, 1, c), macs=h * w * c))

    def fc(self, name: str, x: str, out: int) -> str:
        c = self.shape[x][2]
        return self.add(Layer(name, "fc", (x,), (1, 1, out), c * out, c * out + out))


_FAMILY = {"conv": "conv2d", "dwconv": "depthwise_conv2d", "fc": "fully_connected"}


def training_graph(
    name: str, layers: list[Layer], classes: int, precision: str = "int8", resident_bytes: int = 0
) -> dict[str, Any]:
    """One training step over ``layers`` (in order; the last one is the logits) as a graph dict.

    ``precision`` is the forward pass's: "int8" (1-byte activations) or "fp32"; backward is float32.
    """
    width = {"int8": 1, "fp32": 4}[precision]
    suffix = {"int8": "int8", "fp32": "f32"}[precision]
    nodes: list[dict[str, Any]] = []

    def node(name: str, kind: str, deps: list[str], out: int, macs: int = 0, **extra: Any) -> str:
        entry = {
            "name": name,
            "kind": kind,
            "macs": macs,
            "output_bytes": out,
            "workspace_bytes": 0,
            "deps": deps,
        }
        entry.update(extra)
        nodes.append(entry)
        return name

    def elems(shape: tuple[int, int, int]) -> int:
        return shape[0] * shape[1] * shape[2]

    by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        extra: dict[str, Any] = {}
        if layer.op in _FAMILY:
            extra = {
                "family": f"{_FAMILY[layer.op]}_{suffix}",
                "workspace_bytes": layer.workspace * width // 2,
            }
        kind_bytes = elems(layer.out) * width
        deps = [f"fwd/{i}" for i in layer.inputs]
        node(f"fwd/{layer.name}", "forward", deps, kind_bytes, layer.macs, **extra)
    logits = layers[-1]
    grads: dict[str, list[str]] = {logits.name: [node("loss", "loss", [f"fwd/{logits.name}"], classes * 4)]}
    for layer in reversed(layers):
        if layer.op == "input":
            continue
        parts = grads.get(layer.name, [])
        if not parts:
            continue
        size = elems(layer.out) * 4
        dy = parts[0] if len(parts) == 1 else node(f"bwd/{layer.name}/sum", "backward", parts, size)
        dz = dy
        if layer.act or layer.op == "relu":
            dz = node(f"bwd/{layer.name}/act", "backward", [dy, f"fwd/{layer.name}"], size)
        if layer.params:
            x = f"fwd/{layer.inputs[0]}"
            family = f"{_FAMILY[layer.op]}_f32"
            cout = layer.out[2]
            bias = node(
                f"bwd/{layer.name}/bias", "backward", [dz], cout * 4, bytes_moved=elems(layer.out) * 4
            )
            node(f"upd/{layer.name}", "update", [dz, x, bias], 0, layer.macs, family=family)
        for source in layer.inputs:
            if by_name[source].op == "input":
                continue
            if layer.op in ("add", "relu"):
                grad = dz
            else:
                in_bytes = elems(by_name[source].out) * 4
                extra = {"family": f"{_FAMILY[layer.op]}_f32"} if layer.op in _FAMILY else {}
                grad = node(f"bwd/{layer.name}/in", "backward", [dz], in_bytes, layer.macs, **extra)
            grads.setdefault(source, []).append(grad)
    return {"name": name, "resident_bytes": resident_bytes, "nodes": nodes}


def resnet18_cifar(
    width: int = 64, classes: int = 10, resolution: int = 32, precision: str = "fp32"
) -> dict[str, Any]:
    """ResNet-18 for CIFAR (3x3 stem, four stages of two basic blocks, widths w, 2w, 4w, 8w)."""
    net = _Net()
    x = net.input(resolution, resolution, 3)
    x = net.conv("stem", x, width, 3, 1, act=True)
    channels = width
    for stage, mult in enumerate((1, 2, 4, 8)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            cout = width * mult
            tag = f"s{stage}b{block}"
            y = net.conv(f"{tag}_conv1", x, cout, 3, stride, act=True)
            y = net.conv(f"{tag}_conv2", y, cout, 3, 1, act=False)
            skip = (
                x
                if stride == 1 and cout == channels
                else net.conv(f"{tag}_short", x, cout, 1, stride, act=False)
            )
            x = net.sum(f"{tag}_add", y, skip, act=True)
            channels = cout
    x = net.mean("pool", x)
    net.fc("fc", x, classes)
    return training_graph(f"resnet18_cifar_w{width}_{precision}", net.layers, classes, precision)


def _divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenetv2(
    alpha: float = 0.35, resolution: int = 96, classes: int = 2, precision: str = "int8"
) -> dict[str, Any]:
    """MobileNetV2 (inverted residuals, fused ReLU6) at width ``alpha`` and the given resolution."""
    net = _Net()
    x = net.input(resolution, resolution, 3)
    x = net.conv("stem", x, _divisible(32 * alpha), 3, 2, act=True)
    channels = net.shape[x][2]
    index = 0
    for t, c, n, s in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        cout = _divisible(c * alpha)
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            tag = f"b{index}"
            y = x if t == 1 else net.conv(f"{tag}_expand", x, channels * t, 1, 1, act=True)
            y = net.dwconv(f"{tag}_dw", y, 3, stride, act=True)
            y = net.conv(f"{tag}_project", y, cout, 1, 1, act=False)
            x = net.sum(f"{tag}_add", y, x, act=False) if stride == 1 and cout == channels else y
            channels = cout
            index += 1
    x = net.conv("head", x, 1280 if alpha <= 1.0 else _divisible(1280 * alpha), 1, 1, act=True)
    x = net.mean("pool", x)
    net.fc("fc", x, classes)
    return training_graph(f"mobilenetv2_{alpha}_{resolution}_{precision}", net.layers, classes, precision)


def chain(length: int, output_bytes: int = 1024, macs: int = 10_000) -> dict[str, Any]:
    """A linear network of ``length`` layers and its backward pass (closed-form facts for tests)."""
    nodes: list[dict[str, Any]] = []
    for i in range(length):
        deps = [f"f{i - 1}"] if i else []
        nodes.append(
            {
                "name": f"f{i}",
                "kind": "forward",
                "macs": macs,
                "output_bytes": output_bytes,
                "workspace_bytes": 0,
                "deps": deps,
            }
        )
    nodes.append(
        {
            "name": "loss",
            "kind": "loss",
            "macs": 0,
            "output_bytes": output_bytes,
            "workspace_bytes": 0,
            "deps": [f"f{length - 1}"],
        }
    )
    grad = "loss"
    for i in reversed(range(1, length)):
        deps = [grad, f"f{i - 1}"]
        nodes.append(
            {
                "name": f"b{i}",
                "kind": "backward",
                "macs": macs,
                "output_bytes": output_bytes,
                "workspace_bytes": 0,
                "deps": deps,
            }
        )
        grad = f"b{i}"
    return {"name": f"chain{length}", "resident_bytes": 0, "nodes": nodes}


POET_M4F_CYCLES_PER_FLOP = 64e6 * 255.6237 / 1628.3e6  # 64 MHz over POET's M4F 6.37 MFLOP/s


def poet_resnet18_cifar(
    classes: int = 10, cycles_per_flop: float = POET_M4F_CYCLES_PER_FLOP
) -> dict[str, Any]:
    """ResNet-18-CIFAR as POET (ICML 2022) builds its training graph: T = 133 nodes, float32.

    The construction follows POET's published layer model (facts, not code): batch 1, NCHW, a 3x3
    stem (16 channels) and BatchNorm; three stages of two blocks of conv-BN-ReLU, conv-BN-ReLU and
    a conv-BN projection on the block's input, added and ReLU'd; an 8x8 average pool, a flatten, a
    linear layer and the loss. FLOPs: conv 2 k^2 |input| c_out + |output|, BatchNorm 2 |input|,
    ReLU / add / flatten |output|, pool 2 k^2 |output|, linear 2 (c_in + 1) c_out + c_out, loss
    |logits| x classes. The backward pass is one gradient node per forward layer but the last,
    in reverse order: the gradient of layer j reads j's output, the output of the layer after j
    and the previous gradient, writes a buffer of that later layer's size and costs twice j's
    FLOPs. Every buffer is 4 bytes per element; there is no workspace and no resident state
    (POET leaves parameters out of the budget). ``cycles_per_flop`` makes compute_cycles from
    FLOPs: the default is POET's Cortex-M4F profile (6.37 MFLOP/s at 64 MHz); pair the graph with
    a board file of that profile (benchmarks/poet_m4f.toml) to get POET's joules.
    """

    def size(shape: tuple[int, ...]) -> int:
        total = 1
        for d in shape:
            total *= d
        return total

    layers: list[tuple[str, tuple[int, ...], list[str], int]] = []  # name, out shape, deps, flops
    shapes: dict[str, tuple[int, ...]] = {}

    def add(name: str, shape: tuple[int, ...], deps: list[str], flops: int) -> str:
        layers.append((name, shape, deps, flops))
        shapes[name] = shape
        return name

    def conv(name: str, x: str, cout: int, stride: int) -> str:
        _, cin, h, w = shapes[x]
        out = (1, cout, (h - 3 + 2) // stride + 1, (w - 3 + 2) // stride + 1)
        return add(name, out, [x], 2 * 9 * size(shapes[x]) * cout + size(out))

    def bn(name: str, x: str) -> str:
        return add(name, shapes[x], [x], 2 * size(shapes[x]))

    def relu(name: str, x: str) -> str:
        return add(name, shapes[x], [x], size(shapes[x]))

    x = add("input", (1, 3, 32, 32), [], 0)
    x = bn("stem_bn", conv("stem", x, 16, 1))
    for stage, cout in enumerate((16, 32, 64)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            tag = f"s{stage}b{block}"
            y = relu(f"{tag}_relu1", bn(f"{tag}_bn1", conv(f"{tag}_conv1", x, cout, stride)))
            y = relu(f"{tag}_relu2", bn(f"{tag}_bn2", conv(f"{tag}_conv2", y, cout, 1)))
            z = bn(f"{tag}_bn3", conv(f"{tag}_conv3", x, cout, stride))
            x = relu(f"{tag}_relu3", add(f"{tag}_add", shapes[y], [y, z], size(shapes[y])))
    _, c, h, w = shapes[x]
    x = add("pool", (1, c, 1, 1), [x], 2 * h * w * c)
    x = add("flatten", (1, c), [x], c)
    x = add("linear", (1, classes), [x], 2 * (c + 1) * classes + classes)
    add("loss", (classes,), [x], size(shapes[x]) * classes)
    forward = list(layers)
    nodes: list[dict[str, Any]] = []
    for name, shape, deps, flops in forward:
        kind = "loss" if name == "loss" else "forward"
        nodes.append(_poet_node(name, kind, deps, 4 * size(shape), flops * cycles_per_flop))
    grad = "loss"
    for later, earlier in zip(reversed(forward), list(reversed(forward))[1:], strict=False):
        name = f"grad/{earlier[0]}"
        deps = list(dict.fromkeys([earlier[0], later[0], grad]))
        nodes.append(_poet_node(name, "backward", deps, 4 * size(later[1]), 2 * earlier[3] * cycles_per_flop))
        grad = name
    return {"name": "poet_resnet18_cifar", "resident_bytes": 0, "nodes": nodes}


def _poet_node(name: str, kind: str, deps: list[str], out: int, cycles: float) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "macs": 0,
        "output_bytes": out,
        "workspace_bytes": 0,
        "deps": deps,
        "compute_cycles": cycles,
    }
