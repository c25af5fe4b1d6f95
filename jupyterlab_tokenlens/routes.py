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
from .service import ROUTES, Route, Service, too_large


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
    async def get(self) -> None:
        params = {k: self.get_query_argument(k) for k in self.request.query_arguments}
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
        self.set_header("Content-Type", "application/json")
        self.finish(answer)

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
            (url_path_join(base, name), RouteHandler, {"route": route, "service": service, "pools": pools})
            for name, route in ROUTES.items()
        ],
    )
