"""Window arithmetic shared by convolutions and pools (TFLite's SAME / VALID rules)."""

from __future__ import annotations

from edgesdk import ir


def window(size: int, kernel: int, stride: int, dilation: int, padding: ir.Padding) -> tuple[int, int, int]:
    """Output length and (before, after) padding of one spatial dimension.

    SAME: ``out = ceil(in / stride)``, ``pad_total = max((out-1)*stride + (k-1)*dilation + 1 - in, 0)``,
    ``before = pad_total // 2`` (the extra one goes after). VALID: no padding,
    ``out = floor((in - ((k-1)*dilation + 1)) / stride) + 1``.
    """
    extent = (kernel - 1) * dilation + 1
    if padding is ir.Padding.SAME:
        out = -(-size // stride)
        total = max((out - 1) * stride + extent - size, 0)
        return out, total // 2, total - total // 2
    out = (size - extent) // stride + 1
    return out, 0, 0


def batched(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    """An activation's shape for a batch of ``batch`` (dim 0 carries the batch)."""
    if not shape:
        return shape
    return (shape[0] * batch, *shape[1:])


def size_of(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= int(dim)
    return total
