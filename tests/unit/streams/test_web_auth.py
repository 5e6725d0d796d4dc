"""The worker API's gate: loopback or a token, probes open, and size caps on every request."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import faust
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.errors import ConfigError
from infra.settings import Settings
from streams.web_auth import MAX_BODY_BYTES, MAX_QUERY_BYTES, auth_headers, protect_web, web_guard

pytestmark = pytest.mark.timeout(60)


def serve(token: str | None, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})

    async def main() -> None:
        app = web.Application(middlewares=[web_guard(token)])
        for path in ("/health", "/ready", "/search", "/stats", "/metrics"):
            app.router.add_route("*", path, ok)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


def test_with_a_token_only_probes_are_open():
    async def scenario(c: TestClient) -> None:
        for path in ("/health", "/ready"):
            assert (await c.get(path)).status == 200
        for path in ("/search?q=x", "/stats", "/metrics"):
            resp = await c.get(path)
            assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await c.get("/stats", headers={"Authorization": "Bearer wrong"})).status == 401
        assert (await c.get("/stats", headers={"Authorization": "Bearer s3cret"})).status == 200

    serve("s3cret", scenario)


def test_size_caps_apply_before_the_token_and_without_one():
    async def scenario(c: TestClient) -> None:
        resp = await c.get("/search", params={"q": "x" * (MAX_QUERY_BYTES + 1)})
        assert resp.status == 414 and "query string" in (await resp.json())["error"]
        assert (await c.get("/search", params={"q": "x" * 100})).status == 200
        assert (await c.post("/search", data=b"x" * (MAX_BODY_BYTES + 1))).status == 413

        async def chunks() -> Any:
            yield b"x" * 10

        assert (await c.post("/search", data=chunks())).status == 413  # no Content-Length

    serve(None, scenario)


def _app() -> faust.App:
    return faust.App("web-auth-test", broker="kafka://127.0.0.1:1", autodiscover=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::"])
def test_an_exposed_api_without_a_token_refuses_to_start(host):
    with pytest.raises(ConfigError, match="ASSAY_WEB_TOKEN.*ASSAY_WEB_ALLOW_NO_TOKEN=true"):
        protect_web(_app(), Settings(web_host=host))


@pytest.mark.parametrize("settings", [
    Settings(),  # loopback
    Settings(web_host="0.0.0.0", web_token="t"),
    Settings(web_host="0.0.0.0", web_allow_no_token=True),
])
def test_loopback_a_token_or_an_explicit_opt_out_start(settings):
    app = _app()
    protect_web(app, settings)
    assert len(app.web.web_app.middlewares) == 1


def test_clients_send_the_token():
    assert auth_headers(Settings(web_token="t")) == {"Authorization": "Bearer t"}
    assert auth_headers(Settings()) == {}
