"""The readable console (edgesdk/console.h): numbers formatted without printf, checked against
Python's exact decimal arithmetic under ASan + UBSan, and the demo's lines as a serial monitor shows
them, beside the "@es" records `edgesdk run` parses."""

from __future__ import annotations

import struct
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from int8_lib import RUNTIME, build_sanitized

DRIVER = Path(__file__).parent / "c" / "console_check.c"


def _expected(bits: int, decimals: int) -> str:
    value = struct.unpack("<f", struct.pack("<I", bits))[0]
    if value != value:
        return "nan"
    sign = "-" if value < 0 else ""  # as the C: -0.0 prints "0", -0.00005 with 0 decimals "-0"
    magnitude = abs(value)
    if magnitude >= 1e9:
        return sign + ("inf" if magnitude == float("inf") else "huge")
    exact = Decimal(magnitude).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return sign + f"{exact:.{decimals}f}"


def test_console_numbers_and_lines(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = [0.0, -0.0, 0.5, 1.5, 2.5, -0.00005, 0.44515, 0.99999, 9.99995, 123456.789, 999999999.0,
              1e9, -3e38, 1e-30, 0.125, 0.0625]
    bits = [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]
    bits += [0x7FC00000, 0x7F800000, 0xFF800000]  # nan, +inf, -inf
    bits += [int(b) for b in rng.integers(0, 2**32, size=200, dtype=np.uint64)]
    bits += [struct.unpack("<I", struct.pack("<f", float(v)))[0]
             for v in rng.uniform(-50.0, 50.0, size=200).astype(np.float32)]
    program = build_sanitized(
        DRIVER, tmp_path / "console", [RUNTIME / "port" / "common" / "console.c",
                                       RUNTIME / "port" / "host" / "port_host.c"],
        flags=("-std=c99", "-Wall", "-Wextra", "-Werror", "-DES_PORT_HOST"),
    )
    done = subprocess.run([str(program), *(f"{b:08x}" for b in bits)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "runtime error" not in done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    numbers, demo = lines[: len(bits)], lines[len(bits):]
    for b, line in zip(bits, numbers, strict=True):
        words = line.split()
        assert int(words[0], 16) == b
        assert words[1:] == [_expected(b, d) for d in (0, 1, 4, 6)], line
    assert demo == [
        "step 12  loss 0.4451",
        "epoch 2/3  loss 1.5000",
        "test after  acc 87.5 %  (7/8)",
        "test before  acc 66.7 %  (2/3)",
        "test after  mse 0.000123",
        "per step: 18446744073709551615 instructions",
    ]
