"""``python -m api``: the one entrypoint every manifest, the Procfile and the Dockerfile use."""

from __future__ import annotations

import logging

import uvicorn

from api.settings import Settings


def main() -> None:
    """Serve with uvicorn, configured only from the environment (see api.settings)."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings.web_concurrency > 1:
        logging.getLogger("freeport").warning(
            "WEB_CONCURRENCY=%d: every worker loads its own copy of every model; "
            "on a 512 MB instance keep 1", settings.web_concurrency
        )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        log_level=settings.log_level,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
