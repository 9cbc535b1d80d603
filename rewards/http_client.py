"""A JSON-over-HTTP client whose every request ends on time, for the judge reward (rewards/judge.py).

A socket timeout bounds each read, not a request: a server that sends a byte every 2 s never trips it. Here each
attempt (connect, send, the whole reply) has a total `timeout`: a watchdog shuts the attempt's socket down when the
time is up, which wakes a blocked read wherever it is (status line, headers, body, a TLS record). Every way a reply
can be broken is retried with backoff, up to `retries` more attempts, then reported as `CallFailed`:
- transport: connection refused or reset, closed mid-reply, a timeout, the deadline;
- protocol: a garbage status line, a truncated body, a body that is not UTF-8 or not JSON;
- content: a JSON reply the caller's `parse` rejects (raising `BadReply`), e.g. no string content;
- HTTP 408/409/429/5xx. Other HTTP statuses (401 a rejected key, 404 a wrong path) fail at once: retrying cannot
  help.

Credentials in the URL (`https://user:pass@host/v1`, `?key=...`) are sent the way they are meant (HTTP basic auth,
the query string kept on every path), and never appear in a message: `redact_url` masks them, `redact_urls` masks
every URL in a text. Standard library only (urllib), so rewards/ needs no HTTP client dependency; urllib's proxy
environment variables are honoured.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_BACKOFF_S = 8.0
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>:,;.)\]]")  # not a trailing ":" or ")"


class CallFailed(Exception):
    """A request that failed for good; the message is safe to log (no credentials, no headers)."""


class BadReply(Exception):
    """Raised by a caller's `parse` for a reply that parsed as JSON but is not what was asked for; retried."""


class _Retry(Exception):
    """One attempt failed in a way another attempt may not."""


class _Fatal(Exception):
    """One attempt failed in a way every attempt would (a rejected key, a wrong path)."""


def redact_url(url: str) -> str:
    """`url` with its user info and every query value masked: `https://***@host/v1?key=***`."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return "<an unparseable URL>"
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    names = [pair.partition("=")[0] for pair in parts.query.split("&") if pair]
    query = "&".join(f"{name}=***" for name in names)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_urls(text: str) -> str:
    """Every URL in `text` with its credentials masked (see `redact_url`)."""
    return _URL.sub(lambda m: redact_url(m.group(0)) if ("@" in m.group(0) or "?" in m.group(0)) else m.group(0), text)


class _Deadline:
    """Shuts down the sockets of one attempt when its time is up, so no server can stretch the attempt."""

    def __init__(self, seconds: float):
        self.seconds, self.expired = seconds, False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True  # an abandoned attempt never keeps the process alive

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def attach(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)
        return sock

    def connection(self, cls: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        """A connection factory for urllib whose sockets (to the server, or to a proxy) this deadline watches."""

        def factory(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            conn = cls(host, **kwargs)
            create = conn._create_connection
            conn._create_connection = lambda *a, **k: self.attach(create(*a, **k))
            return conn

        return factory


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPSConnection), req, context=self._context)


class Client:
    """Requests to an OpenAI-compatible server at `base_url`, each attempt done within `timeout` seconds.

    `on_retry(reason)` is called for every attempt that is retried (the judge counts them)."""

    def __init__(
        self,
        base_url: str,
        key: Callable[[], str | None],
        timeout: float,
        retries: int,
        on_retry: Callable[[str], None] | None = None,
    ):
        parts = urllib.parse.urlsplit(base_url)
        self.user = urllib.parse.unquote(parts.username or "") if parts.username is not None else None
        self.password = urllib.parse.unquote(parts.password or "")
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        self.base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.query = parts.query
        path = parts.path.rstrip("/")
        self.safe_base = redact_url(urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")))
        self.safe_query = redact_url(f"http://h/?{parts.query}").partition("?")[2]  # every value masked
        self.key, self.timeout, self.retries, self.on_retry = key, timeout, retries, on_retry

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self.key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    def request(self, path: str, body: dict | None = None, parse: Callable[[Any], Any] = lambda reply: reply) -> Any:
        """GET (no body) or POST `path`; returns `parse(reply JSON)`. Raises CallFailed after the retries."""
        url = self.base + path + (f"?{self.query}" if self.query else "")
        data = json.dumps(body).encode() if body is not None else None
        where = f"{'POST' if data is not None else 'GET'} {self.safe_base}{path}"
        where += f"?{self.safe_query}" if self.safe_query else ""
        error = CallFailed(where)
        for attempt in range(self.retries + 1):
            try:
                return parse(self._attempt(urllib.request.Request(url, data=data, headers=self._headers())))
            except BadReply as e:
                error = CallFailed(f"{where}: {e}")
            except _Retry as e:
                error = CallFailed(f"{where}: {e}")
            except _Fatal as e:
                raise CallFailed(f"{where}: {e}") from None
            if attempt < self.retries:
                if self.on_retry is not None:
                    self.on_retry(str(error))
                time.sleep(min(MAX_BACKOFF_S, 0.5 * 2**attempt))
        raise error

    def _attempt(self, request: urllib.request.Request) -> Any:
        with _Deadline(self.timeout) as deadline:
            opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))
            try:
                with opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as e:
                if e.code in RETRY_STATUS:
                    raise _Retry(f"HTTP {e.code} {e.reason}") from None
                raise _Fatal(f"HTTP {e.code} {e.reason}") from None
            except (OSError, http.client.HTTPException) as e:
                if deadline.expired:
                    raise _Retry(f"no complete reply within {self.timeout:g} s") from None
                reason = getattr(e, "reason", e)
                raise _Retry(redact_urls(f"{type(reason).__name__}: {reason}")) from None
            if deadline.expired:  # the socket was shut mid-body: what arrived is cut short
                raise _Retry(f"no complete reply within {self.timeout:g} s")
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _Retry("the reply is not UTF-8") from None
        except json.JSONDecodeError:
            raise _Retry("the reply is not JSON") from None
