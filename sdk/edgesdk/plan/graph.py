"""The planner's view of a training step: a DAG of nodes, each writing one buffer.

This is the graph JSON schema users write (docs/planner.md) and what the training-graph export
produces: a plain dict ``{"name", "resident_bytes", "nodes": [...]}`` where each node has

- required: ``name`` (unique), ``kind`` (forward | loss | backward | update), ``macs``,
  ``output_bytes``, ``workspace_bytes``, ``deps`` (names of the nodes whose outputs it reads);
- optional: ``family`` (kernel family for the board's cycles-per-MAC table, e.g. "conv2d_int8"),
  ``compute_cycles`` (overrides MACs), ``bytes_moved`` (for nodes without MACs; default
  ``output_bytes``), ``resident_bytes`` (state this node owns that stays in RAM all step, e.g. a
  gradient accumulator or optimizer state; added to the graph's), ``recomputable`` (default true
  except for update nodes, which write state in place and must run exactly once).

Nodes are kept in a topological order (the file's order when it is one, otherwise a stable
topological sort); ``deps`` become indices into that order.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesdk.errors import PlanError

NODE_KINDS = ("forward", "loss", "backward", "update")
_REQUIRED = ("name", "kind", "macs", "output_bytes", "workspace_bytes", "deps")
_OPTIONAL = ("family", "compute_cycles", "bytes_moved", "resident_bytes", "recomputable")


@dataclass(frozen=True)
class PlanNode:
    index: int  # position in the graph's topological order
    name: str
    kind: str  # one of NODE_KINDS
    macs: int
    output_bytes: int  # the buffer this node writes (0: writes nothing the planner tracks)
    workspace_bytes: int  # scratch needed only while the node runs
    deps: tuple[int, ...]  # indices of the nodes whose outputs this node reads
    family: str | None = None
    compute_cycles: float | None = None
    bytes_moved: int | None = None
    resident_bytes: int = 0
    recomputable: bool = True


@dataclass(frozen=True)
class PlanGraph:
    name: str
    nodes: tuple[PlanNode, ...]
    resident_bytes: int  # trainable weights, gradients, optimizer state: in RAM the whole step

    def __post_init__(self) -> None:
        for position, node in enumerate(self.nodes):
            if node.index != position:
                raise ValueError(f"node {node.name!r} has index {node.index}, expected {position}")
            if any(dep >= position for dep in node.deps):
                raise ValueError(f"node {node.name!r} depends on a later node")

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def total_resident_bytes(self) -> int:
        return self.resident_bytes + sum(node.resident_bytes for node in self.nodes)

    def consumers(self) -> tuple[tuple[int, ...], ...]:
        """For each node, the indices of the nodes that read its output (ascending)."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for dep in node.deps:
                users[dep].append(node.index)
        return tuple(tuple(sorted(set(u))) for u in users)

    def last_use(self) -> tuple[int, ...]:
        """For each node, the index of its last reader, or its own index when nothing reads it."""
        return tuple(max(users, default=i) for i, users in enumerate(self.consumers()))

    def floor_bytes(self) -> int:
        """A lower bound on any schedule's RAM: resident state + the largest single node's footprint
        (its inputs, its output and its workspace, all in RAM at once)."""
        return self.total_resident_bytes + max((self.node_footprint(n.index) for n in self.nodes), default=0)

    def node_footprint(self, index: int) -> int:
        node = self.nodes[index]
        inputs = sum(self.nodes[d].output_bytes for d in set(node.deps))
        return inputs + node.output_bytes + node.workspace_bytes

    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for node in self.nodes:
            entry: dict[str, Any] = {
                "name": node.name,
                "kind": node.kind,
                "macs": node.macs,
                "output_bytes": node.output_bytes,
                "workspace_bytes": node.workspace_bytes,
                "deps": [self.nodes[d].name for d in node.deps],
            }
            if node.family is not None:
                entry["family"] = node.family
            if node.compute_cycles is not None:
                entry["compute_cycles"] = node.compute_cycles
            if node.bytes_moved is not None:
                entry["bytes_moved"] = node.bytes_moved
            if node.resident_bytes:
                entry["resident_bytes"] = node.resident_bytes
            if node.recomputable != (node.kind != "update"):
                entry["recomputable"] = node.recomputable
            nodes.append(entry)
        return {"name": self.name, "resident_bytes": self.resident_bytes, "nodes": nodes}


def load_graph_json(path: str | Path) -> PlanGraph:
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise PlanError(f"cannot read graph file {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise PlanError(f"graph file {path} is not valid JSON ({error}); see docs/planner.md") from None
    return graph_from_dict(raw, source=str(path))


def graph_from_dict(raw: Any, source: str = "graph") -> PlanGraph:
    """Validate a graph dict (the JSON schema above) and build a :class:`PlanGraph`."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("nodes"), Sequence):
        raise PlanError(f"{source}: expected an object with a 'nodes' list; see docs/planner.md")
    raw_nodes = list(raw["nodes"])
    if not raw_nodes:
        raise PlanError(f"{source}: the graph has no nodes")
    names: dict[str, int] = {}
    for position, entry in enumerate(raw_nodes):
        _check_node(entry, position, source)
        if entry["name"] in names:
            raise PlanError(f"{source}: node name {entry['name']!r} appears twice; names must be unique")
        names[entry["name"]] = position
    for entry in raw_nodes:
        for dep in entry["deps"]:
            if dep not in names:
                raise PlanError(
                    f"{source}: node {entry['name']!r} depends on {dep!r}, which is not a node of the graph"
                )
    order = _topological_order(raw_nodes, names, source)
    index_of = {raw_nodes[old]["name"]: new for new, old in enumerate(order)}
    nodes = []
    for new, old in enumerate(order):
        entry = raw_nodes[old]
        kind = entry["kind"]
        nodes.append(
            PlanNode(
                index=new,
                name=entry["name"],
                kind=kind,
                macs=int(entry["macs"]),
                output_bytes=int(entry["output_bytes"]),
                workspace_bytes=int(entry["workspace_bytes"]),
                deps=tuple(sorted({index_of[d] for d in entry["deps"]})),
                family=entry.get("family"),
                compute_cycles=None
                if entry.get("compute_cycles") is None
                else float(entry["compute_cycles"]),
                bytes_moved=None if entry.get("bytes_moved") is None else int(entry["bytes_moved"]),
                resident_bytes=int(entry.get("resident_bytes", 0)),
                recomputable=bool(entry.get("recomputable", kind != "update")),
            )
        )
    resident = raw.get("resident_bytes", 0)
    if not isinstance(resident, int) or isinstance(resident, bool) or resident < 0:
        raise PlanError(f"{source}: 'resident_bytes' must be a non-negative integer, got {resident!r}")
    return PlanGraph(name=str(raw.get("name", "graph")), nodes=tuple(nodes), resident_bytes=resident)


def _check_node(entry: Any, position: int, source: str) -> None:
    if not isinstance(entry, Mapping):
        raise PlanError(f"{source}: node #{position} is not an object")
    missing = [key for key in _REQUIRED if key not in entry]
    label = entry.get("name", f"#{position}")
    if missing:
        raise PlanError(
            f"{source}: node {label!r} lacks {', '.join(missing)}; see docs/planner.md for the schema"
        )
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise PlanError(
            f"{source}: node {label!r} has unknown keys {', '.join(unknown)}; known: "
            f"{', '.join(_REQUIRED + _OPTIONAL)}"
        )
    if not isinstance(entry["name"], str) or not entry["name"]:
        raise PlanError(f"{source}: node #{position} needs a non-empty string 'name'")
    if entry["kind"] not in NODE_KINDS:
        raise PlanError(f"{source}: node {label!r} has kind {entry['kind']!r}; expected one of {NODE_KINDS}")
    for key in ("macs", "output_bytes", "workspace_bytes", "bytes_moved", "resident_bytes"):
        value = entry.get(key)
        if value is None and key not in _REQUIRED:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PlanError(
                f"{source}: node {label!r}: {key!r} must be a non-negative integer, got {value!r}"
            )
    cycles = entry.get("compute_cycles")
    if cycles is not None and (
        not isinstance(cycles, (int, float)) or isinstance(cycles, bool) or cycles < 0
    ):
        raise PlanError(f"{source}: node {label!r}: 'compute_cycles' must be a non-negative number")
    if not isinstance(entry["deps"], Sequence) or isinstance(entry["deps"], str):
        raise PlanError(f"{source}: node {label!r}: 'deps' must be a list of node names")
    if entry["name"] in entry["deps"]:
        raise PlanError(f"{source}: node {label!r} depends on itself")


def _topological_order(raw_nodes: list[Any], names: dict[str, int], source: str) -> list[int]:
    """Kahn's algorithm, always taking the earliest ready node: keeps the file's order when valid."""
    indegree = [len(set(entry["deps"])) for entry in raw_nodes]
    users: list[list[int]] = [[] for _ in raw_nodes]
    for position, entry in enumerate(raw_nodes):
        for dep in set(entry["deps"]):
            users[names[dep]].append(position)
    ready = [p for p, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        position = heapq.heappop(ready)
        order.append(position)
        for user in users[position]:
            indegree[user] -= 1
            if indegree[user] == 0:
                heapq.heappush(ready, user)
    if len(order) != len(raw_nodes):
        stuck = sorted(raw_nodes[p]["name"] for p, d in enumerate(indegree) if d > 0)
        raise PlanError(f"{source}: the graph has a cycle through {', '.join(stuck[:5])}; it must be a DAG")
    return order
