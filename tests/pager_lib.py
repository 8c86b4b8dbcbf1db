"""Helpers of the pager tests: scenarios for tests/c/pager_run.c, building and running it, and the
comparison of its counters with edgesdk.codegen.pager_model."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from edgesdk.codegen.pager_model import OpKind, PagerOp, Prediction, SwapGeometry, predict
from edgesdk.toolchain import compile_firmware, parse_results
from edgesdk.toolchain.protocol import Results

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "c" / "pager_run.c"
RUNTIME_SRC = HERE.parent / "runtime_c" / "src"
PAGER_SOURCES = [DRIVER, RUNTIME_SRC / "pager.c", RUNTIME_SRC / "swap.c", RUNTIME_SRC / "common.c"]

# es_status / es_pager_error / ES_SWAP_* values (runtime_c/include/edgesdk/*.h)
ES_OK, ES_ERR_ARG, ES_ERR_IO = 0, 1, 3
E_NONE, E_CONFIG, E_REGION_SMALL, E_SLOT, E_LENGTH, E_EMPTY = 0, 1, 2, 3, 4, 5
E_DEVICE, E_VERIFY, E_CHECKSUM, E_NO_ROOM, E_JOURNAL = 6, 7, 8, 9, 10
SWAP_FAULT, SWAP_WORN = 5, 6

MEMORY, MEMORY_DIRTY, FILE = 0, 1, 2  # backends of pager_run.c
END_OF_STEP = 3


@dataclass(frozen=True)
class Faults:
    fail_read: int = 0
    fail_program: int = 0
    fail_erase: int = 0
    flip_read: int = 0
    flip_bit: int = 0


@dataclass(frozen=True)
class Scenario:
    geometry: SwapGeometry
    slot_bytes: tuple[int, ...]
    steps: tuple[tuple[PagerOp, ...], ...]
    flags: int = 0
    backend: int = MEMORY_DIRTY
    scratch_bytes: int = 64
    endurance: int = 0
    report_sectors: bool = True
    faults: Faults = field(default_factory=Faults)
    journal_sectors: int = 0  # wear journal: a second simulated device (0: none)
    journal_sector_bytes: int = 0
    journal_fail_program: int = 0  # journal device faults (call numbers; 0: never)
    journal_fail_erase: int = 0

    def numbers(self) -> list[int]:
        g = self.geometry
        f = self.faults
        out = [2, g.region_bytes, g.sector_bytes, g.program_bytes, self.flags, self.backend,
               self.scratch_bytes, self.endurance, int(self.report_sectors),
               f.fail_read, f.fail_program, f.fail_erase, f.flip_read, f.flip_bit,
               self.journal_sectors, self.journal_sector_bytes, self.journal_fail_program,
               self.journal_fail_erase,
               len(self.slot_bytes), *self.slot_bytes]
        ops: list[int] = []
        for step in self.steps:
            for op in step:
                ops += [op.kind.value, op.slot, op.length]
            ops += [END_OF_STEP, 0, 0]
        return out + [len(ops) // 3] + ops

    def op_index(self, step: int, position: int) -> int:
        """Index of an operation in pager_run's op list (end-of-step markers count)."""
        return sum(len(s) + 1 for s in self.steps[:step]) + position

    def predict(self) -> Prediction:
        return predict(self.geometry, self.slot_bytes, self.steps, self.flags)


def build_host(out_dir: Path) -> Path:
    firmware = compile_firmware(PAGER_SOURCES, board="host", out_dir=out_dir, sanitize=True,
                                name="pager_run")
    return firmware.path


def run_host(exe: Path, scenario: Scenario, work: Path, name: str = "scenario") -> Results:
    path = work / f"{name}.txt"
    path.write_text(" ".join(map(str, scenario.numbers())) + "\n")
    image = work / f"{name}.img"
    done = subprocess.run([str(exe), str(path), str(image)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    results = parse_results(done.stdout)
    assert "error" not in results, results["error"]
    return results


def write_include(scenario: Scenario, path: Path) -> Path:
    """The scenario as the body of a C array initializer (numbers only), for firmware builds."""
    numbers = scenario.numbers()
    lines = [", ".join(f"{n}u" for n in numbers[i:i + 16]) + "," for i in range(0, len(numbers), 16)]
    path.write_text("\n".join(lines) + "\n")
    return path


def fails(results: Results) -> list[list[int]]:
    """[op index, es_status, es_pager_error, device status] of every call that did not return ES_OK."""
    return results.all("fail")


def assert_matches_model(results: Results, prediction: Prediction) -> None:
    """Every per-step and total counter of the C run equals the model's prediction."""
    steps = results.all("step")
    assert len(steps) == len(prediction.steps)
    for index, (got, want) in enumerate(zip(steps, prediction.steps, strict=True)):
        expected = [want.bytes_read, want.bytes_programmed, want.bytes_relocated, want.total_erases,
                    want.page_outs, want.page_ins, want.relocations]
        assert got == expected, f"step {index}: C {got} model {expected}"
    sector_steps = results.all("step.sectors")
    if sector_steps:
        for index, (got, want) in enumerate(zip(sector_steps, prediction.steps, strict=True)):
            assert tuple(got) == want.erases, f"step {index}: erases per sector differ"
    assert tuple(results["sectors"]) == prediction.sector_erases
    assert results["bytes_read"] == prediction.bytes_read
    assert results["bytes_programmed"] == prediction.bytes_programmed
    assert results["erases"] == prediction.erases


def assert_clean_device(results: Results) -> None:
    """No NOR rule broken, no unit programmed twice, the pager's wear is the device's wear, and
    every page-in returned what was paged out."""
    assert results["sim.nor_violations"] == 0
    assert results["sim.double_programs"] == 0
    assert results["sectors"] == results["sim.sectors"]
    assert results["sim.bytes_programmed"] == results["bytes_programmed"]
    assert results["sim.bytes_read"] == results["bytes_read"]
    assert results["data_errors"] == 0


def random_steps(rng: np.random.Generator, slot_bytes: Sequence[int], steps: int, ops_per_step: int,
                 drop_probability: float) -> tuple[tuple[PagerOp, ...], ...]:
    """Random page-outs (random lengths up to the capacity), page-ins of held copies and drops."""
    held: dict[int, int] = {}
    out: list[tuple[PagerOp, ...]] = []
    for _ in range(steps):
        ops: list[PagerOp] = []
        for _ in range(ops_per_step):
            slot = int(rng.integers(len(slot_bytes)))
            roll = rng.random()
            if slot in held and roll < 0.4:
                ops.append(PagerOp.in_(slot, held[slot]))
                if rng.random() < drop_probability:
                    ops.append(PagerOp.drop(slot))
                    del held[slot]
            else:
                length = int(rng.integers(1, slot_bytes[slot] + 1))
                ops.append(PagerOp.out(slot, length))
                held[slot] = length
        out.append(tuple(ops))
    for slot, length in held.items():  # read everything back at the end
        out[-1] += (PagerOp.in_(slot, length),)
    return tuple(out)


def count_kind(steps: Sequence[Sequence[PagerOp]], kind: OpKind) -> int:
    return sum(op.kind is kind for step in steps for op in step)
