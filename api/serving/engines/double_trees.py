"""Give a converted HistGradientBoosting model its float64 split thresholds back.

scikit-learn's HistGradientBoosting compares float64 inputs with float64
thresholds, and its thresholds are often data values themselves: a held-out
row can lie within float32 rounding of a split, and a float32 graph then sends
it the other way (a difference of ~9 on diabetes behind a StandardScaler).
skl2onnx 1.20 always writes thresholds as float32 (``nodes_values``) and
declares a float64 output onnxruntime's tree kernels do not produce, so its
float64 graph does not even load. ai.onnx.ml opset 3 has ``nodes_values_as_tensor``,
which onnxruntime 1.32 compares in float64 with float64 inputs: this module
writes the estimator's own thresholds there, casts the float32 outputs back to
float64, and checks every node against the estimator on the way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TREE_OPS", "with_float64_thresholds"]

TREE_OPS = ("TreeEnsembleRegressor", "TreeEnsembleClassifier")
# The first ai.onnx.ml version with tensor-valued (float64) thresholds.
ML_OPSET_WITH_DOUBLE_THRESHOLDS = 3


def with_float64_thresholds(model: Any, estimator: Any) -> Any:
    """The ONNX ``model`` (a ModelProto converted with float64 inputs) with the float64
    thresholds of ``estimator`` (a fitted HistGradientBoosting model). Raises ValueError
    when the graph's trees do not match the estimator's node for node."""
    import onnx
    from onnx import helper, numpy_helper

    thresholds = _thresholds_by_tree(estimator)
    graph = model.graph
    casts = []
    for node in graph.node:
        if node.domain != "ai.onnx.ml" or node.op_type not in TREE_OPS:
            continue
        attributes = {a.name: a for a in node.attribute}
        exact = _node_thresholds(attributes, thresholds)
        del node.attribute[list(node.attribute).index(attributes["nodes_values"])]
        node.attribute.append(
            helper.make_attribute("nodes_values_as_tensor", numpy_helper.from_array(exact))
        )
        # onnxruntime's tree kernels write float32 scores whatever the input: cast them back.
        for position, name in enumerate(node.output):
            if node.op_type == "TreeEnsembleClassifier" and position == 0:
                continue  # the label keeps its type
            node.output[position] = f"{name}_float32"
            casts.append(helper.make_node("Cast", [node.output[position]], [name], to=onnx.TensorProto.DOUBLE))
    if not casts:
        raise ValueError("the graph has no tree ensemble to give float64 thresholds")
    for cast in casts:
        producer = next(i for i, n in enumerate(graph.node) if cast.input[0] in n.output)
        graph.node.insert(producer + 1, cast)
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, ML_OPSET_WITH_DOUBLE_THRESHOLDS)
    return model


def _thresholds_by_tree(estimator: Any) -> list[np.ndarray]:
    """Each tree's node thresholds, in the order skl2onnx numbers the trees: float64, and 0 for a
    leaf (scikit-learn never sets a leaf's), as skl2onnx writes it; _node_thresholds checks every node."""
    predictors = getattr(estimator, "_predictors", None)
    if predictors is None:
        raise ValueError(f"{type(estimator).__name__} is not a fitted HistGradientBoosting model")
    trees = []
    for iteration in predictors:
        trees.extend(predictor.nodes["num_threshold"] for predictor in iteration)
    return trees


def _node_thresholds(attributes: dict[str, Any], thresholds: list[np.ndarray]) -> np.ndarray:
    tree_ids = list(attributes["nodes_treeids"].ints)
    node_ids = list(attributes["nodes_nodeids"].ints)
    written = list(attributes["nodes_values"].floats)  # float32 values, widened exactly
    try:
        exact = np.array([thresholds[t][n] for t, n in zip(tree_ids, node_ids, strict=True)])
    except IndexError as exc:
        raise ValueError("the graph numbers its trees unlike the estimator") from exc
    # Every threshold skl2onnx wrote must be the float32 rounding of the one put in its place.
    if not np.array_equal(exact.astype(np.float32), written):
        raise ValueError("the graph's thresholds are not the estimator's")
    return exact
