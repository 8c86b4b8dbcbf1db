"""Helpers shared by the planner tests."""

from __future__ import annotations

from edgesdk.boards import Board, Costs, StorageTier


def toy_board(erase_s: float = 0.0, swap_bytes: int = 1 << 20) -> Board:
    """1 MHz, one cycle per MAC: computing costs `macs` microseconds; paging a byte costs one
    microsecond out and one in (plus erases when asked): remat and paging really compete."""
    tier = StorageTier(
        name="nor",
        size_bytes=1 << 24,
        swap_bytes=swap_bytes,
        sector_bytes=4096,
        read_bytes_per_s=1e6,
        read_latency_s=0.0,
        program_bytes_per_s=1e6,
        program_latency_s=0.0,
        erase_sector_s=erase_s,
        erase_cycles=100_000,
        read_current_a=0.01,
        program_current_a=0.02,
        erase_current_a=0.02,
    )
    costs = Costs(
        cycles_per_mac={"conv2d_f32": 2.0},
        default_cycles_per_mac=1.0,
        cycles_per_byte_moved=0.5,
        run_current_a=0.05,
        voltage_v=3.0,
    )
    return Board(
        name="toy",
        title="toy board",
        core="host",
        fpu=None,
        float_abi="soft",
        clock_hz=1_000_000,
        sram_bytes=1 << 30,
        flash_bytes=1 << 20,
        ram_origin=0,
        flash_origin=0,
        storage=(tier,),
        costs=costs,
        platformio_platform=None,
        platformio_board=None,
        emulation=None,
        sources=(),
    )
