"""The worker's live page: one HTML file, and Server-Sent Events that push ``/stats`` while it is open.

* ``GET /`` redirects to ``GET /dashboard``: plain HTML and JavaScript (``streams/static/live.html``),
  no build step, nothing fetched from elsewhere;
* ``GET /events``: ``text/event-stream``; every ``interval_s`` one ``stats`` event whose data is the
  same JSON ``/stats`` answers. A stream ends after ``max_stream_s`` (the browser reconnects by
  itself) and when the worker stops, so an open page never holds a shutdown back.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import faust
import orjson
from aiohttp import web
from faust.web import Request, Response, View

from streams.web import WebContext, stats_body

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("static") / "live.html"


def register_live_page(app: faust.App, ctx: WebContext, interval_s: float = 1.0, max_stream_s: float = 300.0) -> None:
    stopping = asyncio.Event()
    html = PAGE.read_bytes()

    @app.on_before_shutdown.connect
    async def end_streams(sender: object, **_: object) -> None:
        stopping.set()

    @app.page("/")
    class Root(View):
        async def get(self, request: Request) -> Response:
            raise web.HTTPFound("/dashboard")

    @app.page("/dashboard")
    class Dashboard(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(html, content_type="text/html")

    @app.page("/events")
    class Events(View):
        async def get(self, request: Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
            await resp.prepare(request)  # type: ignore[arg-type]
            loop = asyncio.get_running_loop()
            ends = loop.time() + max_stream_s
            try:
                await resp.write(f"retry: {int(interval_s * 1000)}\n\n".encode())
                while not stopping.is_set() and loop.time() < ends:
                    body = orjson.dumps(await stats_body(ctx))
                    await resp.write(b"event: stats\ndata: " + body + b"\n\n")
                    try:
                        await asyncio.wait_for(stopping.wait(), interval_s)
                    except asyncio.TimeoutError:
                        pass
            except ConnectionResetError:
                pass  # the page was closed
            return resp
