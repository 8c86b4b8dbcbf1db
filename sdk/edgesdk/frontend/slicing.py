"""STRIDED_SLICE, SLICE, SPLIT and SPLIT_V on activations -> IR SLICE ops.

Streaming models cut their ring buffers with these: ``STRIDED_SLICE(x, [0, -2, 0, 0], ...)`` keeps
the last two frames of a buffer, ``SPLIT_V`` cuts channels into groups. In the IR every one of them
is a SLICE with normalized ``begin``/``end``/``strides`` (one entry per input dimension,
``0 <= begin < end <= dim``, stride >= 1); SPLIT and SPLIT_V become one SLICE per output. The data
is copied as it is (TFLite Micro's int8 kernels copy bytes), so input and output must share their
quantization. The same index arithmetic folds these ops on constants (:mod:`edgesdk.frontend.fold`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgesdk.frontend.fold import strided_slices
from edgesdk.frontend.ops import Converted, OpContext
from edgesdk.frontend.reader import RawTensor
from edgesdk.ir import OpKind


def _normalized(ctx: OpContext, shape: Sequence[int],
                index: Sequence[slice | int]) -> dict[str, tuple[int, ...]]:
    """begin/end/strides per dimension, checked non-empty and forward."""
    begin, end, strides = [], [], []
    for axis, dim in enumerate(shape):
        part = index[axis] if axis < len(index) else slice(None)
        if isinstance(part, int):
            part = slice(part, part + 1, 1)
        start, stop, step = part.indices(dim)
        if step < 0:
            raise ctx.unsupported("a slice with a negative stride (reversal) is not supported")
        if stop <= start:
            raise ctx.fail(f"the slice of axis {axis} ({start}:{stop}:{step}) is empty")
        begin.append(start)
        end.append(stop)
        strides.append(step)
    return dict(begin=tuple(begin), end=tuple(end), strides=tuple(strides))


def sliced_shape(attrs: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The shape ``input[begin:end:strides]`` has (before a shrink reshapes it)."""
    return tuple(len(range(b, e, s)) for b, e, s in zip(attrs["begin"], attrs["end"], attrs["strides"],
                                                         strict=True))


def _same_quantization(ctx: OpContext, x: RawTensor, out: RawTensor) -> None:
    if x.dtype != out.dtype:
        raise ctx.fail(f"output {out.name!r} is {out.dtype}, its input {x.dtype}")
    same = (x.quant is None) == (out.quant is None) and (
        x.quant is None or out.quant is None
        or (np.array_equal(x.quant.scale, out.quant.scale)
            and np.array_equal(x.quant.zero_point, out.quant.zero_point)))
    if not same:
        raise ctx.unsupported(f"output {out.name!r} is quantized differently from its input; the slice "
                              f"copies the integers, so both must share one quantization")


def _slice_of(ctx: OpContext, source: int, output: int, index: Sequence[slice | int]) -> Converted:
    """The IR SLICE that copies ``index`` of tensor ``source`` (raw index) into ``output``."""
    x, out = ctx.tensors[source], ctx.tensors[output]
    attrs = _normalized(ctx, x.shape, index)
    shape = sliced_shape(attrs)
    if int(np.prod(shape, dtype=np.int64)) != out.data_size or (
            len(out.shape) == len(shape) and tuple(out.shape) != shape):
        raise ctx.fail(f"output {out.name!r} has shape {list(out.shape)}, the slice computes {list(shape)}")
    _same_quantization(ctx, x, out)
    return Converted(OpKind.SLICE, (source,), attrs, outputs=(output,))


def _ints(ctx: OpContext, k: int, what: str) -> list[int]:
    return [int(v) for v in np.asarray(ctx.constant(k, what)).reshape(-1)]


def _strided_slice(ctx: OpContext) -> Converted:
    ctx.arity(3, 4)
    x = ctx.tensor(0)
    begin, end = _ints(ctx, 1, "the begin indices"), _ints(ctx, 2, "the end indices")
    strides = _ints(ctx, 3, "the strides") if ctx.optional(3) >= 0 else [1] * len(begin)
    try:
        index = strided_slices(x.shape, begin, end, strides, ctx.op.options)
    except NotImplementedError:
        raise ctx.unsupported("ellipsis and new-axis masks are not supported") from None
    except ValueError as error:
        raise ctx.fail(f"begin {begin}, end {end}, strides {strides}: {error}") from None
    return _slice_of(ctx, ctx.index(0), ctx.op.outputs[0], index)


def _slice(ctx: OpContext) -> Converted:
    ctx.arity(3)
    x = ctx.tensor(0)
    begin, size = _ints(ctx, 1, "the begin indices"), _ints(ctx, 2, "the sizes")
    if not len(begin) == len(size) == len(x.shape):
        raise ctx.fail(f"begin {begin} and size {size} do not match rank {len(x.shape)}")
    index = [slice(b, x.shape[axis] if n == -1 else b + n)
             for axis, (b, n) in enumerate(zip(begin, size, strict=True))]
    if any(b < 0 for b in begin):
        raise ctx.fail(f"begin {begin} has negative entries")
    return _slice_of(ctx, ctx.index(0), ctx.op.outputs[0], index)


def _split_parts(ctx: OpContext, source: int, axis_value: np.ndarray,
                 sizes: list[int]) -> tuple[Converted, ...]:
    x = ctx.tensors[source]
    rank = len(x.shape)
    axis = int(np.asarray(axis_value).reshape(-1)[0]) if np.asarray(axis_value).size == 1 else None
    if axis is None or not -rank <= axis < rank:
        raise ctx.fail(f"split axis {np.asarray(axis_value).tolist()} is not a dimension of rank {rank}")
    axis %= rank
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = x.shape[axis] - sum(n for n in sizes if n != -1)
    if any(n <= 0 for n in sizes) or sum(sizes) != x.shape[axis] or len(sizes) != len(ctx.op.outputs):
        raise ctx.fail(f"sizes {sizes} do not split axis {axis} of {list(x.shape)} into "
                       f"{len(ctx.op.outputs)} outputs")
    parts, start = [], 0
    for size, output in zip(sizes, ctx.op.outputs, strict=True):
        index = [slice(None)] * rank
        index[axis] = slice(start, start + size)
        parts.append(_slice_of(ctx, source, output, index))
        start += size
    return tuple(parts)


def _split_v(ctx: OpContext) -> tuple[Converted, ...]:
    if len(ctx.op.inputs) != 3:
        raise ctx.fail(f"has {len(ctx.op.inputs)} inputs, expected 3")
    sizes = _ints(ctx, 1, "the split sizes")
    return _split_parts(ctx, ctx.index(0), ctx.constant(2, "the split axis"), sizes)


def _split(ctx: OpContext) -> tuple[Converted, ...]:
    if len(ctx.op.inputs) != 2:
        raise ctx.fail(f"has {len(ctx.op.inputs)} inputs, expected 2")
    axis_value = ctx.constant(0, "the split axis")
    x = ctx.tensors[ctx.index(1)]
    count = len(ctx.op.outputs)
    rank = len(x.shape)
    axes = np.asarray(axis_value).reshape(-1)
    axis = int(axes[0]) % max(rank, 1) if axes.size == 1 else 0
    if count == 0 or x.shape[axis] % count:
        raise ctx.fail(f"cannot split axis {axis} of {list(x.shape)} into {count} equal parts")
    return _split_parts(ctx, ctx.index(1), axis_value, [x.shape[axis] // count] * count)


CONVERTERS = {
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "SPLIT": _split,
    "SPLIT_V": _split_v,
}
