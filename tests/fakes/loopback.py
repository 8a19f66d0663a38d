"""One WSGI app served on 127.0.0.1 at a free port in a daemon thread: the transport under every fake vendor."""
from __future__ import annotations

import threading
from typing import Any, Callable, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Tests read the fakes' `calls`; one access-log line per request would drown their output."""


class LoopbackServer:
    """Serves a WSGI app on 127.0.0.1 (port 0: the OS picks a free one) between start() and stop().

    Use it on its own (`with LoopbackServer(app) as server: server.base_url`) or as the base class
    of a fake that passes its own WSGI callable up.
    """

    def __init__(self, wsgi_app: Callable, *, base_path: str = "", thread_name: str = "loopback"):
        self.base_url = ""
        self._wsgi_app = wsgi_app
        self._base_path = base_path
        self._thread_name = thread_name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Serve on a free loopback port; base_url is then "http://127.0.0.1:<port>" + base_path."""
        self._server = make_server("127.0.0.1", 0, self._wsgi_app, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}{self._base_path}"
        # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; a second call does nothing."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
