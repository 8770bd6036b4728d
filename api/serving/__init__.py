"""Serving: from a bundle on disk to an answer.

The card and the bundle (what a model is and how it is saved and loaded), the
engines that run it (onnxruntime or scikit-learn), the request schemas derived
from the card, the registry that holds the loaded models, and the predictor and
micro-batcher that answer. Nothing here knows of HTTP middleware or databases.
"""
