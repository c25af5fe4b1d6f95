"""The REST routes: HTTP only. Jupyter's authentication (and its XSRF check on POST) runs first;
then the body's declared size is checked before a byte of it is read, the body is collected as
it streams in (never past the route's limit), and parsing, checking and answering happen in a
pool thread (:mod:`.service`); heavy routes run in their own bounded pool (:mod:`.pools`)."""

from __future__ import annotations

import asyncio
import json

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .config import TokenLens, apply_library_limits
from .failures import RequestError, failure
from .pools import Pools
from .service import ROUTES, Reply, Route, Service, too_large


@tornado.web.stream_request_body
class RouteHandler(APIHandler):
    """One handler for every route: the route's method, limit and work come from its :class:`Route`."""

    def initialize(self, route: Route, service: Service, pools: Pools) -> None:
        self.route = route
        self.service = service
        self.pools = pools
        self.SUPPORTED_METHODS = (route.method, "OPTIONS")
        self._chunks: list[bytes] = []
        self._received = 0

    async def prepare(self) -> None:
        await super().prepare()  # authentication (403) and, on POST, the XSRF check
        if self._finished:
            return None
        limit = self.route.body_limit(self.service.settings)
        declared = self.request.headers.get("Content-Length")
        problem = None
        if declared is not None:
            try:
                problem = too_large(self.route, int(declared), self.service.settings)
            except ValueError:
                problem = RequestError(400, "The Content-Length header is not a number.")
        if problem is not None:
            return self._fail(problem)
        # a body sent without a length (chunked) is still cut off at the limit
        self.request.connection.set_max_body_size(limit)

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.route.body_limit(self.service.settings):
            self._chunks.append(chunk)

    @tornado.web.authenticated
    async def get(self, name: str | None = None) -> None:
        params = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        if name is not None:  # the path's own part (/tokenlens/page-tokenizers/<name>), decoded
            params["name"] = name
        await self._respond(b"", params)

    @tornado.web.authenticated
    async def post(self) -> None:
        await self._respond(b"".join(self._chunks), {})

    async def _respond(self, body: bytes, params: dict[str, str]) -> None:
        problem = too_large(self.route, self._received, self.service.settings)
        if problem is not None:
            return self._fail(problem)
        try:
            future = self.pools.submit(self.route.heavy, self.service.answer, self.route.name, body, params)
            answer = await asyncio.wrap_future(future)
        except Exception as exc:
            return self._fail(exc)
        if isinstance(answer, Reply):
            return self._reply(answer)
        self.set_header("Content-Type", "application/json")
        self.finish(answer)

    def _reply(self, reply: Reply) -> None:
        """A file with its entity tag; 304 when the browser already holds this version."""
        self.set_header("Content-Type", reply.media_type)
        if reply.etag:
            tag = f'"{reply.etag}"'
            self.set_header("ETag", tag)
            self.set_header("Cache-Control", "private, no-cache")
            if tag in (self.request.headers.get("If-None-Match") or "").replace(" ", "").split(","):
                self.set_status(304)
                return self.finish()
        self.finish(reply.body)

    def _fail(self, exc: BaseException) -> None:
        """A JSON error a person can act on; never a traceback."""
        status, payload, headers = failure(exc)
        if status >= 500 and status not in (501, 503):
            self.log.error("tokenlens: %s failed", self.route.name, exc_info=exc)
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


def setup_handlers(server_app) -> None:
    web_app = server_app.web_app
    settings = TokenLens(parent=server_app)
    apply_library_limits(settings)
    pools = Pools(settings.workers, settings.heavy_workers, settings.heavy_queue, settings.retry_after_seconds)
    service = Service(settings)
    base = url_path_join(web_app.settings["base_url"], "tokenlens")
    web_app.add_handlers(
        ".*$",
        [
            (
                url_path_join(base, route.path or name),
                RouteHandler,
                {"route": route, "service": service, "pools": pools},
            )
            for name, route in ROUTES.items()
        ],
    )
