"""Float64 thresholds go only into the trees they were read from (api/serving/engines/double_trees.py).

The converter tries this strategy on every HistGradientBoosting model; when a graph and an estimator do
not match node for node it must refuse with a reason, never write another model's thresholds.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from api.serving.engines.double_trees import with_float64_thresholds


def _graph(model, frame):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    return convert_sklearn(model, initial_types=[("X", DoubleTensorType([None, frame.shape[1]]))],
                           options={id(model): {"zipmap": False}})


@pytest.fixture(scope="module")
def wine():
    frame, target = load_wine(return_X_y=True, as_frame=True)
    return frame, target, HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(frame, target)


def _refusal(graph, estimator) -> str:
    with pytest.raises(ValueError) as refused:
        with_float64_thresholds(graph, estimator)
    return str(refused.value)


def test_a_graph_without_trees_or_an_estimator_without_histogram_trees_is_refused(wine):
    frame, target, trees = wine
    linear = LogisticRegression(max_iter=5000).fit(frame.to_numpy(), target)
    assert _refusal(_graph(linear, frame), trees) == "the graph has no tree ensemble to give float64 thresholds"
    assert _refusal(_graph(trees, frame), linear) == "LogisticRegression is not a fitted HistGradientBoosting model"


def test_another_models_trees_are_refused_whether_they_differ_in_shape_or_in_thresholds(wine):
    frame, target, trees = wine
    fewer = HistGradientBoostingClassifier(max_iter=2, random_state=0).fit(frame, target)
    assert _refusal(_graph(trees, frame), fewer) == "the graph numbers its trees unlike the estimator"
    # Fitted on the same data scaled by two: the same trees, every threshold doubled.
    scaled = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(frame * 2, target)
    shapes = [p.nodes.shape for it in scaled._predictors for p in it]
    assert shapes == [p.nodes.shape for it in trees._predictors for p in it]
    assert _refusal(_graph(trees, frame), scaled) == "the graph's thresholds are not the estimator's"


def test_the_thresholds_written_are_the_estimators_own_float64_values(wine):
    from onnx import numpy_helper

    frame, _, trees = wine
    fixed = with_float64_thresholds(_graph(trees, frame), trees)
    (node,) = [n for n in fixed.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attributes = {a.name: a for a in node.attribute}
    assert "nodes_values" not in attributes
    written = numpy_helper.to_array(attributes["nodes_values_as_tensor"].t)
    assert written.dtype == np.float64
    splits = [p.nodes[p.nodes["is_leaf"] == 0]["num_threshold"] for it in trees._predictors for p in it]
    assert set(written[written != 0]) == set(np.concatenate(splits)) - {0.0}
