"""C identifiers for values, buffers and structs: readable, valid and unique within one file."""

from __future__ import annotations

import re

# identifiers the generated sources use themselves
RESERVED = frozenset(
    {
        "x",
        "labels",
        "loss",
        "out",
        "loss_value",
        "inputs",
        "es_arena",
        "es_step",
        "buf",
        "len",
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
    }
)


def c_identifier(name: str) -> str:
    """``conv_2d_0.y`` -> ``conv_2d_0_y``; anything not alphanumeric becomes ``_``."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", name)
    text = re.sub(r"_+", "_", text).strip("_") or "v"
    if text[0].isdigit():
        text = "v" + text
    return text


class Namer:
    """Hands out unique identifiers: the first request for a base gets it, later ones ``_2``..."""

    def __init__(self, reserved: frozenset[str] = RESERVED) -> None:
        self._taken: set[str] = set(reserved)

    def take(self, name: str) -> str:
        base = c_identifier(name)
        candidate, number = base, 2
        while candidate in self._taken:
            candidate = f"{base}_{number}"
            number += 1
        self._taken.add(candidate)
        return candidate
