"""Graph JSON: validation messages, topological order, stages and the generated benchmark graphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgesdk.errors import PlanError
from edgesdk.plan import generators
from edgesdk.plan.graph import graph_from_dict, load_graph_json
from edgesdk.plan.stages import build_stages, coarse_starts

GRAPHS = Path(__file__).parent / "graphs"


def n(name: str, deps: list[str], **extra) -> dict:  # noqa: ANN003
    return {
        "name": name,
        "kind": "forward",
        "macs": 1,
        "output_bytes": 8,
        "workspace_bytes": 0,
        "deps": deps,
        **extra,
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nodes": []}, "no nodes"),
        ([], "expected an object with a 'nodes' list"),
        ({"nodes": [n("a", []), n("a", [])]}, "appears twice"),
        ({"nodes": [n("a", ["zz"])]}, "depends on 'zz', which is not a node"),
        ({"nodes": [n("a", ["b"]), n("b", ["a"])]}, "cycle through a, b"),
        ({"nodes": [{"name": "a", "kind": "forward"}]}, "lacks macs, output_bytes, workspace_bytes, deps"),
        ({"nodes": [n("a", [], colour="red")]}, "unknown keys colour"),
        ({"nodes": [n("a", [], kind="sideways")]}, "kind 'sideways'"),
        ({"nodes": [n("a", [], output_bytes=-1)]}, "'output_bytes' must be a non-negative integer"),
        ({"nodes": [n("a", [], macs=1.5)]}, "'macs' must be a non-negative integer"),
        ({"nodes": [n("a", ["a"])]}, "depends on itself"),
        ({"nodes": [n("a", [])], "resident_bytes": -4}, "'resident_bytes' must be a non-negative integer"),
    ],
)
def test_bad_graphs_are_explained(raw: object, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        graph_from_dict(raw)


def test_nodes_are_put_in_topological_order_stably() -> None:
    graph = graph_from_dict({"nodes": [n("c", ["b"]), n("a", []), n("b", ["a"]), n("d", [])]})
    assert [x.name for x in graph.nodes] == ["a", "b", "c", "d"]
    assert graph.nodes[2].deps == (1,)
    assert graph_from_dict(graph.to_dict()) == graph


def test_optional_keys_round_trip_and_defaults() -> None:
    raw = {
        "name": "g",
        "resident_bytes": 10,
        "nodes": [
            n("a", [], family="conv2d_int8", compute_cycles=99.5, resident_bytes=6),
            n("u", ["a"], kind="update", output_bytes=0),
            n("b", ["a"], bytes_moved=3, recomputable=False),
        ],
    }
    graph = graph_from_dict(raw)
    assert graph.total_resident_bytes == 16
    assert graph.nodes[1].recomputable is False  # updates write state in place: never twice
    assert graph.nodes[2].recomputable is False and graph.nodes[2].bytes_moved == 3
    assert graph_from_dict(graph.to_dict()) == graph


def test_load_graph_json_reports_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text("{nodes: ")
    with pytest.raises(PlanError, match="not valid JSON"):
        load_graph_json(path)


def test_floor_is_resident_plus_the_largest_node() -> None:
    graph = graph_from_dict(
        {"resident_bytes": 100, "nodes": [n("a", []), n("b", ["a"], output_bytes=50, workspace_bytes=7)]}
    )
    assert graph.floor_bytes() == 100 + 8 + 50 + 7


def test_horizon_follows_recomputable_consumers() -> None:
    """a feeds b only, but b may be recomputed for d (stage 3): a may be needed until then."""
    graph = graph_from_dict({"nodes": [n("a", []), n("b", ["a"]), n("c", ["b"]), n("d", ["b", "c"])]})
    stages = build_stages(graph)
    assert stages.horizon == (3, 3, 3, 3)
    fixed = graph_from_dict(
        {"nodes": [n("a", []), n("b", ["a"], recomputable=False), n("c", ["b"]), n("d", ["b", "c"])]}
    )
    assert build_stages(fixed).horizon == (1, 3, 3, 3)


def test_coarse_stages_pair_nodes_unless_the_pair_is_too_big() -> None:
    graph = graph_from_dict(
        {"nodes": [n("a", []), n("b", ["a"]), n("c", ["b"], output_bytes=100), n("d", ["c"])]}
    )
    assert coarse_starts(graph, 2) == (0, 2)
    assert coarse_starts(graph, 2, max_block_bytes=50) == (0, 2, 3)


def test_committed_resnet_graph_is_the_generators() -> None:
    committed = json.loads((GRAPHS / "resnet18_cifar_w16_fp32.json").read_text())
    assert committed == generators.resnet18_cifar(16)
    graph = graph_from_dict(committed)
    kinds = [x.kind for x in graph.nodes]
    assert graph.size == 120 and kinds.count("forward") == 31 and kinds.count("update") == 21
    convs = [x for x in graph.nodes if x.name.startswith("fwd/") and x.family == "conv2d_f32"]
    assert len(convs) == 20  # stem, 16 block convs, 3 projection shortcuts
    assert sum(x.macs for x in convs) == 35_045_376  # ResNet-18-CIFAR at width 16


def test_mobilenetv2_generator_shapes() -> None:
    graph = graph_from_dict(generators.mobilenetv2(0.35, 96))
    first = graph.nodes[1]
    assert first.name == "fwd/stem" and first.output_bytes == 48 * 48 * 16
    assert sum(1 for x in graph.nodes if x.name.endswith("_add")) == 10
