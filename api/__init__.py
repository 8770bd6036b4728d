"""freeport's API: scikit-learn model bundles served as typed HTTP endpoints.

Importing this package is cheap: nothing heavy loads until ``create_app`` runs
(the service) or ``save_bundle`` is called (a notebook).
"""

__all__ = ["create_app", "save_bundle"]


def __getattr__(name: str):
    # Lazy, so `import api.settings` (e.g. by the entrypoint) does not pull in FastAPI or pandas.
    if name == "create_app":
        from api.app import create_app

        return create_app
    if name == "save_bundle":
        from api.serving.bundle import save_bundle

        return save_bundle
    raise AttributeError(name)
