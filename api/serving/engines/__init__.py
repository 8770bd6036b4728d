"""The engines that run a bundle's model: rows in, numbers out.

Two engines share one small interface (:class:`Engine`):

- ``onnx`` (:mod:`api.serving.engines.onnx`): the bundle's ``model.onnx`` on onnxruntime.
  Written at save time only when it agreed with scikit-learn on held-out rows and
  on rows built to break it (:mod:`api.serving.engines.convert`); a process whose bundles all run on it never
  imports scikit-learn or pandas.
- ``sklearn`` (:mod:`api.serving.engines.sklearn`): the unpickled pipeline, for every
  bundle skl2onnx cannot convert.

The ENGINE setting chooses: ``auto`` (ONNX when the bundle has it), ``onnx``
or ``sklearn``. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

__all__ = ["ENGINE_NAMES", "Engine", "EngineChoice", "EngineName"]

EngineName = Literal["onnx", "sklearn"]
EngineChoice = Literal["auto", "onnx", "sklearn"]
ENGINE_NAMES: tuple[EngineName, ...] = ("onnx", "sklearn")


class Engine(Protocol):
    """Runs one model on a batch of validated rows (dicts keyed by feature name)."""

    name: EngineName

    def run(self, rows: list[dict[str, Any]]) -> Any:
        """NumPy arrays, one entry per row, in the rows' order:

        - classifiers with probabilities (``card.probabilities``): shape (rows, classes),
          in the card's class order;
        - classifiers without (LinearSVC, …): the class index, shape (rows,), integers,
          in the card's class order;
        - regressors: the predicted value, shape (rows,), float64.

        May raise for a batch the model cannot take (NaN after a transform, …):
        the predictor then finds which rows are at fault.
        """
        ...
