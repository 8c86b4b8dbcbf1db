"""Which int8 forward kernel a weighted layer calls: the reference kernel (the specification) or a
fast variant that computes the same integers for the geometries it accepts (same arguments;
docs/int8-codegen.md, "Fast forward kernels")."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from edgesdk.codegen.kernels.args import C
from edgesdk.quant.params import ConvInt8Params, DepthwiseInt8Params, FullyConnectedInt8Params
from edgesdk.train.graph import Node

LayerInt8Params = ConvInt8Params | DepthwiseInt8Params | FullyConnectedInt8Params

REFERENCE_INT8_FWD = MappingProxyType({
    C.CONV_2D_INT8_FWD: "es_conv2d_int8_fwd",
    C.DEPTHWISE_CONV_2D_INT8_FWD: "es_depthwise_conv2d_int8_fwd",
    C.FULLY_CONNECTED_INT8_FWD: "es_fully_connected_int8_fwd",
})


def fast_int8_fwd(params: LayerInt8Params, w_shape: Sequence[int], x_shape: Sequence[int],
                  y_shape: Sequence[int]) -> str | None:
    """The fast kernel that computes this int8 forward layer, or None when none accepts its
    geometry. Each condition is the one the kernel's header states (and its checks enforce)."""
    if isinstance(params, ConvInt8Params):
        pointwise = (
            tuple(w_shape[1:3]) == (1, 1) and params.stride == (1, 1)
            and (params.pad_top, params.pad_left) == (0, 0) and tuple(y_shape[1:3]) == tuple(x_shape[1:3])
        )
        if pointwise:
            return "es_conv2d_1x1_int8_fwd"
        return "es_conv2d_rows_int8_fwd" if params.dilation[1] == 1 else None
    if isinstance(params, DepthwiseInt8Params):
        fits = tuple(w_shape[1:3]) == (3, 3) and params.depth_multiplier == 1 and params.dilation == (1, 1)
        return "es_depthwise_conv2d_3x3_int8_fwd" if fits else None
    if isinstance(params, FullyConnectedInt8Params):
        return "es_fully_connected_fast_int8_fwd" if params.weights_offset == 0 else None
    return None


# fast variant -> its reference kernel: the fast kernels read one whole weight array, so a layer
# whose weight is split (the trainable rows in RAM, the frozen rows in flash) calls the reference
FAST_TO_REFERENCE = MappingProxyType({
    "es_conv2d_1x1_int8_fwd": "es_conv2d_int8_fwd",
    "es_conv2d_rows_int8_fwd": "es_conv2d_int8_fwd",
    "es_depthwise_conv2d_3x3_int8_fwd": "es_depthwise_conv2d_int8_fwd",
    "es_fully_connected_fast_int8_fwd": "es_fully_connected_int8_fwd",
})


def int8_fwd_kernel(n: Node) -> str:
    """The C function an int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED forward node calls:
    the fast variant when there is one for its geometry, else the reference kernel."""
    a = n.attrs
    fast = fast_int8_fwd(a["params"], a["w_shape"], a["x_shape"], a["y_shape"])
    return fast or REFERENCE_INT8_FWD[n.compute]
