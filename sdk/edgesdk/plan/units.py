"""Parsing the sizes and durations users type: ``96KB``, ``1.5MB``, ``1.3x``, ``250ms``."""

from __future__ import annotations

import re

from edgesdk.errors import PlanError

_SIZE_UNITS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "k": 1024, "mb": 1024**2, "mib": 1024**2, "m": 1024**2}
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional unit B, KB (= KiB = 1024 B) or MB (= MiB)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise PlanError(f"cannot read the size {text!r}; write e.g. 96KB, 1.5MB or 98304 (KB = 1024 B)")
    value = float(match.group(1)) * _SIZE_UNITS[unit]
    if value <= 0:
        raise PlanError(f"the size {text!r} must be positive")
    return int(value)


def parse_runtime(text: str, keep_all_s: float) -> float:
    """Seconds allowed per step: ``1.3x`` (times the step that computes every node once) or ``2.5s``
    / ``800ms``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(x|s|ms|us)\s*", str(text).lower())
    if not match:
        raise PlanError(f"cannot read the runtime budget {text!r}; write 1.3x (of keep-all), 2.5s or 800ms")
    value = float(match.group(1))
    if match.group(2) == "x":
        return value * keep_all_s
    return value * _TIME_UNITS[match.group(2)]


def kb(nbytes: float) -> str:
    return f"{nbytes / 1024:.1f} KB"
