"""What the templates read: the model's C source as data (:class:`ModelSource` and its parts).

The assemblers (:mod:`edgesdk.codegen.model` for fp32, :mod:`edgesdk.codegen.int8` for int8) build
a :class:`ModelSource`; templates/model/*.j2 only print it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.codegen import kernels as K
from edgesdk.codegen.layout import ArenaLayout
from edgesdk.codegen.store import StoreTier
from edgesdk.codegen.swap import BOARD_FLAGS, SCRATCH_BYTES, SIM_FLAGS, BoardDriver

FLOAT_BYTES = 4

@dataclass(frozen=True)
class ConstArray:
    """``static const <ctype> name[count]`` in flash."""

    name: str
    ctype: str
    count: int
    shape: tuple[int, ...]
    comment: str
    rows: tuple[str, ...]  # lines of comma-separated literals


@dataclass(frozen=True)
class RamArray:
    """``static float name[count]`` in RAM; ``init`` names the const array es_init copies in."""

    name: str
    count: int
    shape: tuple[int, ...]
    comment: str
    init: str | None = None
    ctype: str = "float"  # int8: int8_t weights, int32_t biases, uint32_t xorshift32 state


@dataclass(frozen=True)
class ArenaBuffer:
    """``static float *const name = es_arena + offset / 4`` for one lifetime of one value."""

    name: str
    value: str
    program: str
    offset: int  # bytes
    size: int  # bytes
    shape: tuple[int, ...]
    start: int
    end: int
    ctype: str = "float"  # int8: int8_t activations

    @property
    def float_offset(self) -> int:
        return self.offset // FLOAT_BYTES

    @property
    def address(self) -> str:
        """The C expression of the buffer's address in the arena (a float array; int8_t, a
        character type, may alias it)."""
        if self.ctype == "float":
            return f"es_arena + {self.float_offset}"
        return f"({self.ctype} *)((unsigned char *)es_arena + {self.offset})"


@dataclass(frozen=True)
class DimsDecl:
    name: str
    dims: K.Dims4


@dataclass(frozen=True)
class DimsListDecl:
    name: str
    items: tuple[str, ...]  # names of DimsDecl


@dataclass(frozen=True)
class StructDecl:
    ctype: str
    name: str
    fields: tuple[tuple[str, str], ...]
    section: str  # "kernel" or "optimizer"


@dataclass(frozen=True)
class RenderedArg:
    kind: str  # "ref" (&text), "expr" (text as is)
    text: str


@dataclass(frozen=True)
class PointerList:
    name: str
    items: tuple[str, ...]
    ctype: str = "float"


@dataclass(frozen=True)
class RenderedCall:
    function: str
    args: tuple[RenderedArg, ...]
    pointer_lists: tuple[PointerList, ...] = ()


@dataclass(frozen=True)
class Trace:
    key: str  # result key: trace.<node> (training) or trace.infer.<node>
    buffer: str
    count: int
    function: str = "es_report_f32_array"  # int8 buffers: es_trace_int8 (model.c), int32: es_report_i32_array


@dataclass(frozen=True)
class RenderedStep:
    time: int
    node: str
    stage: str
    kernel: str
    summary: str  # one-line comment: inputs -> output
    calls: tuple[RenderedCall, ...]
    trace: Trace | None
    action: str = "compute"  # compute | recompute | page_out | page_in | free (Action values)


@dataclass(frozen=True)
class PagerTier:
    """The C names and figures of one storage tier's pager (model.c's pager section)."""

    index: int
    name: str  # the board's tier name
    pager: str  # es_pager
    device: str  # es_swap_device
    slot_table: str  # const uint32_t capacities
    slot_state: str  # es_pager_slot[]
    erases: str  # the pager's erases per sector
    open: str  # static int32_t open_<tier>(void): set up the device
    sim: str  # es_swap_sim (host, QEMU)
    sim_memory: str
    sim_bitmap: str
    sim_erases: str
    driver_state: str  # the board driver's state
    journal: str  # prefix of the wear journal's names (its device, simulation, open function)
    slot_bytes: tuple[int, ...]
    region_bytes: int
    sector_bytes: int
    program_bytes: int
    sectors: int
    bitmap_bytes: int
    driver: BoardDriver | None


@dataclass(frozen=True)
class Phase:
    """A banner-delimited run of steps inside a function."""

    title: str
    steps: tuple[RenderedStep, ...]


@dataclass(frozen=True)
class SavedParam:
    name: str  # C array
    value: str  # value name
    offset: int  # bytes into the es_params_save image (ESPI v1) where its elements start
    count: int
    shape: tuple[int, ...]
    tensor: int = -1  # IR tensor index (the image record's)
    dtype: str = "ES_PARAM_FLOAT32"  # es_param_dtype of the record
    tail: str = "NULL"  # split weight: the C array of its frozen rows (flash), after the RAM rows
    head_count: int = 0  # split weight: elements of the RAM array (name); 0 for a whole one


@dataclass(frozen=True)
class Macro:
    name: str
    value: str
    comment: str


@dataclass(frozen=True)
class ModelSource:
    """Everything model.h / model.c print (see docs/codegen.md)."""

    name: str
    version: str
    description: tuple[str, ...]  # comment lines: options the model was generated with
    header_macros: tuple[Macro, ...]
    label_ctype: str
    loss_kind: str
    uses_step: bool
    weights: tuple[ConstArray, ...]  # frozen constants and the initial values of parameters
    parameters: tuple[RamArray, ...]
    gradients: tuple[RamArray, ...]
    optimizer_state: tuple[RamArray, ...]
    arena_size: int
    arena_peak: int
    arena_alignment: int
    arena_buffers: tuple[ArenaBuffer, ...]
    dims: tuple[DimsDecl, ...]
    dims_lists: tuple[DimsListDecl, ...]
    kernel_structs: tuple[StructDecl, ...]
    optimizer_structs: tuple[StructDecl, ...]
    train_phases: tuple[Phase, ...]
    infer_steps: tuple[RenderedStep, ...]
    saved_params: tuple[SavedParam, ...]
    params_bytes: int
    trace: bool
    layout: ArenaLayout
    train_end: int = 0  # time of the training program's last step (inference follows)
    scheduled: bool = False  # the training program is a planner schedule
    train_arena_bytes: int = 0  # what the training step uses of the arena (a plan's arena_bytes)
    infer_arena_bytes: int = 0  # what inference uses of it
    pager_tiers: tuple[PagerTier, ...] = ()
    board_port_macro: str = ""  # the real board's port (its swap drivers), e.g. ES_PORT_STM32F7
    scratch_bytes: int = SCRATCH_BYTES
    sim_flags: int = SIM_FLAGS
    board_flags: int = BOARD_FLAGS
    input_ctype: str = "float"  # the training step's and inference's x (int8: the model's own)
    output_ctype: str = "float"  # inference's out
    api_suffix: str = ""  # "_int8": es_train_step_int8 / es_infer_int8 take the model's own types
    int8: Int8Section | None = None  # int8 precision: constants, scratch, float API (codegen.int8)
    store: StoreTier | None = None  # where es_params_commit keeps the parameters (codegen.store)

    @property
    def paged(self) -> bool:
        return bool(self.pager_tiers)


@dataclass(frozen=True)
class ModelFacts:
    """Sizes the demo main and the dataset need (also stored in the project manifest)."""

    batch: int
    input_shape: tuple[int, ...]  # batched
    output_shape: tuple[int, ...]  # batched
    label_shape: tuple[int, ...]  # batched
    label_dtype: str  # "int32" or "float32"
    classes: int  # softmax_xent: values per row of the output; mse: 0
    loss: str
    input_range: tuple[float, float]  # real values the model's input quantization covers

    @property
    def input_count(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_count(self) -> int:
        return int(np.prod(self.output_shape))

    @property
    def label_count(self) -> int:
        return int(np.prod(self.label_shape))

    @property
    def sample_input_count(self) -> int:
        return self.input_count // self.batch

    @property
    def sample_label_count(self) -> int:
        return self.label_count // self.batch

    @property
    def sample_output_count(self) -> int:
        return self.output_count // self.batch


# ---------------------------------------------------------------- int8 precision (codegen.int8)


@dataclass(frozen=True)
class IoQuant:
    """The model input or output as the float API converts it (quantize / dequantize)."""

    scale: str  # C float literal
    zero_point: int
    dims: str  # name of its es_dims
    count: int


@dataclass(frozen=True)
class Int8Section:
    """What templates/model/int8_*.j2 print."""

    arrays: tuple[ConstArray, ...]  # per-channel constants, in flash
    input_offset: int  # the arena's input region (the float API's quantized batch, es_input_int8)
    input_scheduled: bool  # the region is the planner's input node (its first lifetime): the steps
    # read the batch from the arena, so es_train_step_int8 copies x there unless x is es_input_int8()
    state_init: tuple[RenderedCall, ...]  # master copies from their parameters
    rng: tuple[tuple[str, str], ...]  # (array, C literal of its start state)
    input: IoQuant | None  # the model input is int8: es_train_step / es_infer quantize x
    output: IoQuant | None  # the model output is int8: es_infer dequantizes it
