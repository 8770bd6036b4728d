"""``python -m api``: the one entrypoint every manifest, the Procfile and the Dockerfile use."""

from __future__ import annotations

import logging
from functools import partial

import uvicorn

from api.logs import configure_logging
from api.settings import SettingsError, load_settings
from api.web.http_protocol import DeadlineHttpToolsProtocol


def main() -> None:
    """Serve with uvicorn, configured only from the environment (see api.settings)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        # Only field names and reasons: never the values, which may be keys (see load_settings).
        raise SystemExit(f"freeport: {exc}") from None
    configure_logging(settings.log_level, settings.log_format)
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
        # Our logging (api.logs) for every line; api.logs.log_request writes the access lines.
        log_config=None,
        access_log=False,
        # The client address comes from api.web.clientip, trusting only TRUSTED_PROXY_HOPS; uvicorn's own
        # handling would let any client choose its address with X-Forwarded-For when allowed from '*'.
        proxy_headers=False,
        server_header=False,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to this long, then
        # runs the lifespan's shutdown, which flushes the prediction log.
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # What bounds a flood of connections before the app sees a request (see "Under attack" in the README):
        # a deadline on headers and a cap on their size (api.web.http_protocol), a cap on open connections (past
        # it uvicorn answers 503 at once), and idle keep-alive connections closed early.
        http=partial(
            DeadlineHttpToolsProtocol,
            headers_timeout=settings.headers_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
        ),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_seconds,
    )


if __name__ == "__main__":
    main()
