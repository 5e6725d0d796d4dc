"""The worker API's gate: a bearer token (when configured) and size caps on every request.

Installed on the Faust app's aiohttp application before it starts. ``/health`` and ``/ready`` stay
open for probes; everything else needs ``Authorization: Bearer <ASSAY_WEB_TOKEN>`` when a token is
set. Bound beyond loopback without a token, the worker refuses to start (see
:func:`infra.http_auth.require_token_when_exposed`).
"""

from __future__ import annotations

from typing import Awaitable, Callable

import faust
from aiohttp import web

from infra.http_auth import bearer_matches, require_token_when_exposed
from infra.settings import Settings

__all__ = ["MAX_BODY_BYTES", "MAX_QUERY_BYTES", "OPEN_PATHS", "auth_headers", "check_web_exposure", "protect_web",
           "web_guard"]

OPEN_PATHS = frozenset({"/health", "/ready"})
#: The longest query string accepted (under aiohttp's own 8 KiB request-line limit, so the answer is ours).
MAX_QUERY_BYTES = 4 * 1024
#: The API reads no request bodies; anything larger than this is refused before it is read.
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


def web_guard(token: str | None) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """An aiohttp middleware: sizes first, then the token (never reading a body)."""
    secret = token.encode() if token else None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if len(request.query_string.encode()) > MAX_QUERY_BYTES:
            return _error(414, f"query string over {MAX_QUERY_BYTES} bytes")
        length = request.content_length
        if (length is not None and length > MAX_BODY_BYTES) or (length is None and request.body_exists):
            return _error(413, f"request bodies over {MAX_BODY_BYTES} bytes, or without Content-Length, "
                               "are refused")
        if secret is not None and request.path not in OPEN_PATHS:
            if not bearer_matches(request.headers.get("Authorization", ""), secret):
                return _error(401, "missing or invalid bearer token (ASSAY_WEB_TOKEN)")
        return await handler(request)

    return guard


def check_web_exposure(settings: Settings) -> str | None:
    """The API's token; ConfigError when the API would be exposed without one (and no opt-out)."""
    token = settings.web_token.get_secret_value() if settings.web_token else None
    require_token_when_exposed(settings.web_host, token, settings.web_allow_no_token, service="the worker API",
                               set_token="ASSAY_WEB_TOKEN", opt_out="ASSAY_WEB_ALLOW_NO_TOKEN=true")
    return token


def protect_web(app: faust.App, settings: Settings) -> None:
    """Refuse an unauthenticated exposed API, then install the guard. Raises ConfigError."""
    app.web.web_app.middlewares.append(web_guard(check_web_exposure(settings)))


def auth_headers(settings: Settings) -> dict[str, str]:
    """What a client of the worker API (``assay search``, ``status``) sends."""
    return {"Authorization": f"Bearer {settings.web_token.get_secret_value()}"} if settings.web_token else {}
