"""The ONNX engine feeds a graph only in the layouts it recognises, and says which inputs it could not match.

A student's own ``model.onnx`` (uploaded, or converted by a newer skl2onnx) may declare inputs freeport has
never seen; the engine must refuse it at load time with the inputs named, not answer with shifted columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from onnx import TensorProto, helper
from sklearn.linear_model import Ridge

from api.serving.bundle import load_engine, save_bundle
from api.serving.engines.onnx import OnnxEngine
from tests.factories import save_tiny_regressor, saved


def _identity_graph(*inputs: tuple[str, int, list]) -> bytes:
    """A graph whose inputs are as given and whose output is its first input."""
    declared = [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs]
    output = helper.make_tensor_value_info("variable", inputs[0][1], None)
    graph = helper.make_graph([helper.make_node("Identity", [inputs[0][0]], ["variable"])], "g", declared, [output])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.fixture(scope="module")
def regressor_card(tmp_path_factory):
    card = saved(save_tiny_regressor, tmp_path_factory.mktemp("models"))
    assert len(card.features) >= 4
    return card


def _card(card, width: int):
    return card.model_copy(update={"features": card.features[:width]})


def test_an_input_of_a_type_the_engine_cannot_feed_is_named(regressor_card):
    graph = _identity_graph(("a", TensorProto.FLOAT, [None, 1]), ("b", TensorProto.BOOL, [None, 1]))
    with pytest.raises(ValueError, match=r"^the ONNX input 'b' is a tensor\(bool\), which the engine cannot feed$"):
        OnnxEngine(_card(regressor_card, 2), graph, missing_category="")


@pytest.mark.parametrize(
    ("inputs", "features", "listed"),
    [
        ([("X", TensorProto.DOUBLE, [None, 3])], 4, "X [None, 3]"),
        ([("X", TensorProto.DOUBLE, [None, 2, 2])], 2, "X [None, 2, 2]"),
        ([("a", TensorProto.DOUBLE, [None, 1]), ("b", TensorProto.DOUBLE, [None, 1])], 3, "a [None, 1], b [None, 1]"),
        ([("a", TensorProto.DOUBLE, [None, 3]), ("b", TensorProto.DOUBLE, [None, 3])], 3, "a [None, 3], b [None, 3]"),
    ],
    ids=["narrower-matrix", "three-dimensional", "too-few-columns", "two-matrices"],
)
def test_inputs_that_are_neither_one_per_feature_nor_one_matrix_are_refused_with_their_shapes(
    regressor_card, inputs, features, listed
):
    with pytest.raises(ValueError) as refused:
        OnnxEngine(_card(regressor_card, features), _identity_graph(*inputs), missing_category="")
    assert str(refused.value) == (
        f"the ONNX inputs ({listed}) match neither one per feature nor one of width {features}"
    )


def test_a_bare_model_of_two_columns_is_fed_both_as_one_matrix(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"height": rng.uniform(150, 200, 80), "weight": rng.uniform(50, 100, 80)})
    target = (frame["height"] * 0.3 - frame["weight"] * 0.1).rename("score")
    model = Ridge().fit(frame, target)
    card = save_bundle(model, frame, target, "two", models_dir=tmp_path, quiet=True, verify=False)
    assert card.onnx is not None, card.onnx_unavailable
    engine, _ = load_engine(tmp_path / "two", card, engine="onnx", allow_version_mismatch=False)
    rows = [{"height": 160.0, "weight": 90.0}, {"height": 195.5, "weight": 55.0}]
    expected = model.predict(pd.DataFrame(rows))
    np.testing.assert_allclose(engine.run(rows), expected, atol=card.onnx.check.max_difference_allowed)
