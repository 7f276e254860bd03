"""A loopback stand-in for the three REST calls of GitHub's issues API evalgate uses:
list a pull request's comments (paginated with a Link header), create one, update one.
``refuse`` makes every call answer 403, as GitHub does for a fork's read-only token."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from fake_openai import loopback_server, send


class FakeGitHub:
    def __init__(self, page_size: int = 2) -> None:
        self.comments: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.refuse = False
        self.page_size = page_size
        self.viewer: str | None = "github-actions"
        """What GraphQL's ``viewer { login }`` answers (None: an error); comments are written as ``<viewer>[bot]``."""
        github = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                github.calls.append(("GET", self.path, dict(self.headers)))
                if github.refused(self):
                    return
                page = int(self.path.split("page=")[-1]) if "&page=" in self.path else 1
                start = (page - 1) * github.page_size
                chunk = github.comments[start : start + github.page_size]
                headers = {}
                if start + github.page_size < len(github.comments):
                    path = self.path.split("&page=")[0]
                    headers["Link"] = f'<{github.url}{path}&page={page + 1}>; rel="next"'
                github.send(self, 200, chunk, headers)

            def do_POST(self) -> None:  # noqa: N802
                body = self.body()
                github.calls.append(("POST", self.path, dict(self.headers)))
                if self.path == "/graphql":
                    if github.viewer is None:
                        return github.send(self, 200, {"errors": [{"message": "Resource not accessible by integration"}]})
                    return github.send(self, 200, {"data": {"viewer": {"login": github.viewer}}})
                if github.refused(self):
                    return
                comment = {"id": 1000 + len(github.comments), "body": body["body"], "user": {"login": f"{github.viewer or 'someone'}[bot]"}}
                github.comments.append(comment)
                github.send(self, 201, comment)

            def do_PATCH(self) -> None:  # noqa: N802
                body = self.body()
                github.calls.append(("PATCH", self.path, dict(self.headers)))
                if github.refused(self):
                    return
                number = int(self.path.rsplit("/", 1)[-1])
                comment = next(c for c in github.comments if c["id"] == number)
                comment["body"] = body["body"]
                github.send(self, 200, comment)

            def body(self) -> dict[str, Any]:
                return dict(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = loopback_server(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def refused(self, handler: BaseHTTPRequestHandler) -> bool:
        if self.refuse:
            self.send(handler, 403, {"message": "Resource not accessible by integration"})
        return self.refuse

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        send(handler, status, json.dumps(payload), headers)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
