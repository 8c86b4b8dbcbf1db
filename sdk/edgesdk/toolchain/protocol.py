"""The result-line protocol between firmware and Python (defined in docs/building.md).

A firmware reports results as lines ``@es <key> <json value>`` (written by the ``es_report_*``
functions of ``edgesdk/port.h``); every other line is ordinary output. Values are JSON, with one
extension that keeps floats exact: ``{"f32": "0x3f800000"}`` is the float32 with those bits and
``{"f32": ["0x...", ...]}`` a list of them. A key may repeat (e.g. a loss per step): ``values``
keeps the last, ``all(key)`` every one in order.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edgesdk.errors import FirmwareError

PREFIX = "@es "
_KEY = re.compile(r"[A-Za-z0-9_.:/\[\]-]+")


def f32_from_hex(text: str) -> float:
    """The float32 whose IEEE-754 bits are ``text`` ("0x3f800000"), as a Python float (exact)."""
    return struct.unpack("<f", struct.pack("<I", int(text, 16)))[0]


def f32_to_hex(value: float) -> str:
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    return f"0x{bits:08x}"


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"f32"}:
        bits = value["f32"]
        if isinstance(bits, list):
            return [f32_from_hex(item) for item in bits]
        return f32_from_hex(bits)
    return value


@dataclass(frozen=True)
class Results:
    """What a firmware reported. ``raw`` keeps each value's JSON text for bit-exact comparison."""

    records: tuple[tuple[str, Any], ...]  # (key, decoded value) in the order printed
    raw: Mapping[str, str]  # key -> JSON text of its last value
    other_lines: tuple[str, ...]  # output that is not a result line

    @property
    def values(self) -> dict[str, Any]:
        return {key: value for key, value in self.records}

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def __getitem__(self, key: str) -> Any:
        if key not in self.raw:
            known = ", ".join(sorted(self.raw)) or "none"
            raise KeyError(f"the firmware reported no {key!r} (it reported: {known})")
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def all(self, key: str) -> list[Any]:
        return [value for name, value in self.records if name == key]


def parse_results(lines: str | Iterable[str]) -> Results:
    """Parse firmware output. Raises FirmwareError on a malformed result line."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    records: list[tuple[str, Any]] = []
    raw: dict[str, str] = {}
    other: list[str] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.startswith(PREFIX):
            other.append(line)
            continue
        key, _, text = line[len(PREFIX) :].partition(" ")
        if not _KEY.fullmatch(key) or not text:
            raise FirmwareError(
                f"malformed result line {number}: {line!r} (expected '@es <key> <json value>')"
            )
        try:
            value = _decode(json.loads(text))
        except (ValueError, TypeError) as error:
            raise FirmwareError(
                f"result line {number} has a value that is not JSON: {line!r} ({error})"
            ) from None
        records.append((key, value))
        raw[key] = text
    return Results(records=tuple(records), raw=raw, other_lines=tuple(other))
