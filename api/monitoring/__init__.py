"""Watching a served model: how the inputs it is sent compare with those it was trained on."""
