"""What a conversion did: :class:`Report` and :class:`KeptNode`."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Report", "KeptNode"]


@dataclasses.dataclass(frozen=True)
class KeptNode:
    """A node that computes in float32, and why.

    Attributes:
        graph: "" for the main graph, else the path of subgraph attributes leading to it.
        name: the node's name.
        op_type: the node's op type.
        reason: "op_block_list", "node_block_list", "schema", "model_function", "search" or
            "unknown_op".
        detail: more about the reason (the schema's type constraint, say).
    """

    graph: str
    name: str
    op_type: str
    reason: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Report:
    """The library's report of one conversion or mixed-precision search.

    Attributes:
        nodes_converted: nodes now computing in float16/bfloat16.
        nodes_kept: nodes computing in float32 (see ``kept_nodes``).
        casts_inserted, casts_removed: Cast nodes added at precision boundaries, and removed.
        initializers_converted: initializers stored in 16 bits.
        values_clipped: constant values raised to min_positive_val plus lowered to
            max_finite_val, over all tensors (per tensor in ``as_dict()``).
        bytes_before, bytes_after: tensor bytes of initializers and constants.
        evaluations: model runs of a mixed-precision search (0 for a plain conversion).
        float32_inputs: inputs of converted nodes kept float32 by their schema.
        matmul_flops_total, matmul_flops_16bit: matrix-product multiply-adds per activation row,
            and how many run in 16 bits.
        kept_nodes: each node kept in float32, with its reason.
        json: the library's full report as JSON text (``as_dict()`` parses it).
    """

    nodes_converted: int
    nodes_kept: int
    casts_inserted: int
    casts_removed: int
    initializers_converted: int
    values_clipped: int
    bytes_before: int
    bytes_after: int
    evaluations: int
    float32_inputs: int
    matmul_flops_total: Optional[int]
    matmul_flops_16bit: Optional[int]
    kept_nodes: Tuple[KeptNode, ...]
    json: str = dataclasses.field(repr=False)

    @classmethod
    def _from_capi(cls, raw: Dict[str, Any]) -> "Report":
        values = raw["values"]
        kept = tuple(KeptNode(*fields) for fields in raw["kept"])
        return cls(kept_nodes=kept, json=raw["json"], **{
            name: values.get(name) if name.startswith("matmul") else (values.get(name) or 0)
            for name in ("nodes_converted", "nodes_kept", "casts_inserted", "casts_removed",
                         "initializers_converted", "values_clipped", "bytes_before",
                         "bytes_after", "evaluations", "float32_inputs", "matmul_flops_total",
                         "matmul_flops_16bit")})

    def as_dict(self) -> Dict[str, Any]:
        """The full report (what ``halfcast convert --report-json`` writes) as a dict."""
        return json.loads(self.json)

    def kept_by_reason(self) -> Dict[str, List[KeptNode]]:
        """The kept nodes grouped by reason."""
        groups: Dict[str, List[KeptNode]] = {}
        for node in self.kept_nodes:
            groups.setdefault(node.reason, []).append(node)
        return groups
