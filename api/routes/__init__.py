"""HTTP routes: health and readiness, model cards, and each model's predict endpoints."""
