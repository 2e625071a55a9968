"""A real HTTP file server on 127.0.0.1 for download tests, with Range support and misbehaviours.

Each route serves bytes with one behaviour:
  "ok"        200, or 206 for `Range: bytes=N-`
  "cut_once"  the first response announces the full length but stops half-way and closes the
              connection; later responses are "ok" (a flaky network: resume must finish it)
  "stuck"     never sends a byte past `stuck_at`, whatever is asked (a mirror whose copy is
              truncated but which announces the full size)
  "no_range"  ignores Range and always sends the whole file with 200
Unknown paths answer 404. `requests` records (path, Range header) for each request.
"""

from __future__ import annotations

import http.server
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

CHUNK = 1 << 20


@dataclass
class Route:
    body: bytes
    behaviour: str = "ok"
    stuck_at: int = 0
    served: int = 0


@dataclass
class FileServer:
    routes: dict[str, Route]
    port: int = 0
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server_state: FileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            wanted = self.headers.get("Range")
            server_state.requests.append((self.path, wanted))
            route = server_state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            body, start = route.body, 0
            match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
            if match and route.behaviour != "no_range":
                start = int(match.group(1))
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            end = len(body)
            if route.behaviour == "cut_once" and route.served == 0:
                end = start + (len(body) - start) // 2
            elif route.behaviour == "stuck":
                end = max(start, route.stuck_at)
            route.served += 1
            view = memoryview(body)
            for offset in range(start, end, CHUNK):
                self.wfile.write(view[offset : min(offset + CHUNK, end)])
            self.close_connection = True

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-transfer (as the downloader does on purpose when a
        server offers too much) is expected here; anything else is still reported."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_files(routes: dict[str, Route]) -> Iterator[FileServer]:
    state = FileServer(routes)
    httpd = _QuietServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
