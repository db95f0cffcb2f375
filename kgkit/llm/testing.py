"""A scripted, local OpenAI-compatible HTTP server for tests.

It speaks real HTTP on ``127.0.0.1`` (a free port), so the real ``openai`` client and
:class:`kgkit.llm.LLMClient` run unchanged against it. Every answer is scripted: a queue of
:class:`Scripted` responses, a function of the request, or both (the queue first). Every request is
logged. Nothing here needs a model.

Example::

    from kgkit.llm.testing import ScriptedLLMServer, reply, rate_limited

    with ScriptedLLMServer([rate_limited(retry_after=0.1), reply('{"facts": []}')]) as server:
        client = LLMClient(base_url=server.base_url, api_key="test", model="scripted")
        client.complete([{"role": "user", "content": "hi"}]).text   # -> '{"facts": []}'
        len(server.requests)                                          # -> 2

Helpers build the usual cases: :func:`reply` (an answer), :func:`json_reply` (an object as JSON),
:func:`truncated` (partial JSON), :func:`rate_limited` (429 with ``Retry-After``), :func:`server_error`
(5xx), :func:`slow` (an answer after a delay, to trigger client timeouts), :func:`html_page` (an HTML page with
status 200, as a proxy sends) and :func:`error_status`.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "Scripted",
    "LoggedRequest",
    "ScriptedLLMServer",
    "reply",
    "json_reply",
    "truncated",
    "rate_limited",
    "server_error",
    "error_status",
    "slow",
    "html_page",
    "approx_tokens",
    "chaos_handler",
]


def approx_tokens(text: str) -> int:
    """Token count the server reports when a script gives no usage: ~4 characters a token."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass(frozen=True)
class Scripted:
    """One scripted HTTP answer.

    Args:
        status: HTTP status code.
        content: the assistant message text (status 200), or the error message (other statuses).
        headers: extra response headers (e.g. ``{"Retry-After": "1"}``).
        delay: seconds to wait before answering (a client with a shorter timeout gives up).
        usage: ``{"prompt_tokens": .., "completion_tokens": ..}``; estimated from text when omitted.
        raw_body: sent verbatim instead of a chat-completion body (for broken-server cases).
        finish_reason: the choice's finish reason.
    """

    status: int = 200
    content: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: Mapping[str, int] | None = None
    raw_body: bytes | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class LoggedRequest:
    """A request the server received (in arrival order)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    time: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def prompt_text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def reply(content: str, *, delay: float = 0.0, usage: Mapping[str, int] | None = None) -> Scripted:
    """A 200 answer whose assistant message is ``content``."""
    return Scripted(200, content, delay=delay, usage=usage)


def json_reply(obj: Any, **kwargs: Any) -> Scripted:
    """A 200 answer whose message is ``obj`` serialised as JSON."""
    return reply(json.dumps(obj), **kwargs)


def truncated(obj: Any, *, keep: float = 0.6) -> Scripted:
    """A 200 answer with the first ``keep`` fraction of ``obj``'s JSON: partial, unparseable output."""
    text = json.dumps(obj)
    return Scripted(200, text[: max(1, int(len(text) * keep))], finish_reason="length")


def rate_limited(retry_after: float | None = 1.0) -> Scripted:
    """A 429 answer, with a ``Retry-After`` header (seconds) unless ``retry_after`` is None."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Scripted(429, "Rate limit reached, slow down", headers=headers)


def server_error(status: int = 500) -> Scripted:
    """A 5xx answer."""
    return Scripted(status, "The server had an error while processing your request")


def error_status(status: int, message: str) -> Scripted:
    """Any non-200 answer with an OpenAI-style error body."""
    return Scripted(status, message)


def slow(content: str, delay: float) -> Scripted:
    """A 200 answer sent after ``delay`` seconds."""
    return Scripted(200, content, delay=delay)


Handler = Callable[[LoggedRequest], "Scripted | str"]


def html_page(status: int = 200, *, content_type: str = "text/html; charset=utf-8") -> Scripted:
    """An HTML page instead of a completion (a proxy's login or error page), by default with status 200."""
    body = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Proxy login</h1></body></html>"
    return Scripted(status=status, raw_body=body, headers={"Content-Type": content_type})


def chaos_handler(
    answer: Callable[[LoggedRequest], str],
    *,
    malformed_rate: float = 0.0,
    partial_rate: float = 0.0,
    rate_limit_rate: float = 0.0,
    error_rate: float = 0.0,
    retry_after: float = 0.05,
    seed: int = 0,
) -> Handler:
    """A handler that answers with ``answer(request)`` but injects faults at the given rates.

    Args:
        malformed_rate: answers that are not usable JSON at all (prose around a broken fragment).
        partial_rate: answers cut in half (partial JSON, as when ``max_tokens`` is hit; often repairable).
        rate_limit_rate: 429s with ``Retry-After: retry_after``.
        error_rate: 500s.
        seed: the faults are random but seeded, so a run is reproducible for a given request order.
    """
    rng = random.Random(seed)
    lock = threading.Lock()

    def handle(request: LoggedRequest) -> Scripted:
        with lock:
            r = rng.random()
        if r < rate_limit_rate:
            return rate_limited(retry_after)
        r -= rate_limit_rate
        if r < error_rate:
            return server_error(500)
        r -= error_rate
        text = answer(request)
        if r < malformed_rate:
            return reply("Sure! Here are the facts I found: " + text[: min(len(text), 12)] + " ...")
        r -= malformed_rate
        if r < partial_rate:
            return Scripted(200, text[: max(1, len(text) // 2)], finish_reason="length")
        return reply(text)

    return handle


class ScriptedLLMServer:
    """An OpenAI-compatible server on 127.0.0.1 that plays back scripted answers.

    Args:
        responses: answers served first, in order (``str`` means :func:`reply`).
        handler: called with the request when the queue is empty; returns a :class:`Scripted` or text.
        default: served when both the queue and the handler are absent (default: a 500 saying the
            script is exhausted, so a test notices unexpected calls).
        model: the model name reported in answers.

    Serves ``POST /v1/chat/completions`` (and ``/chat/completions``) and ``GET /v1/models``.
    """

    def __init__(
        self,
        responses: Iterable[Scripted | str] = (),
        *,
        handler: Handler | None = None,
        default: Scripted | None = None,
        model: str = "scripted",
    ) -> None:
        self._queue: deque[Scripted] = deque(_as_scripted(r) for r in responses)
        self.handler = handler
        self.default = default
        self.model = model
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------------
    def push(self, *responses: Scripted | str) -> None:
        """Append answers to the queue."""
        with self._lock:
            self._queue.extend(_as_scripted(r) for r in responses)

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log."""
        with self._lock:
            return list(self._log)

    @property
    def chat_requests(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def pending(self) -> int:
        """How many queued answers have not been served."""
        with self._lock:
            return len(self._queue)

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started; call start() or use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` to an OpenAI-compatible client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "ScriptedLLMServer":
        if self._httpd is not None:
            return self
        server = self

        class _Handler(_RequestHandler):
            owner = server

        self._stop.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stop.set()  # wakes handlers sleeping on a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "ScriptedLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering ---------------------------------------------------------------------------------
    def _next(self, request: LoggedRequest) -> Scripted:
        with self._lock:
            self._log.append(request)
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return _as_scripted(self.handler(request))
        if self.default is not None:
            return self.default
        return Scripted(500, "ScriptedLLMServer: script exhausted (no queued answer, no handler)")

    def _completion_body(self, request: LoggedRequest, s: Scripted) -> dict[str, Any]:
        usage = dict(s.usage) if s.usage else {
            "prompt_tokens": approx_tokens(request.prompt_text),
            "completion_tokens": approx_tokens(s.content),
        }
        usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        return {
            "id": f"chatcmpl-scripted-{len(self._log)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model") or self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": s.content},
                "finish_reason": s.finish_reason,
            }],
            "usage": usage,
        }


class _RequestHandler(BaseHTTPRequestHandler):
    owner: ScriptedLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        if not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
            pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            body = {"object": "list", "data": [{"id": self.owner.model, "object": "model", "owned_by": "kgkit"}]}
            self._send(200, json.dumps(body).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        req = LoggedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "only /v1/chat/completions is scripted"}}')
            return
        s = self.owner._next(req)
        if s.delay > 0 and self.owner._stop.wait(s.delay):
            return  # server stopping
        if s.raw_body is not None:
            self._send(s.status, s.raw_body, s.headers)
        elif s.status == 200:
            self._send(200, json.dumps(self.owner._completion_body(req, s)).encode(), s.headers)
        else:
            err = {"error": {"message": s.content or "error", "type": "scripted_error", "code": s.status}}
            self._send(s.status, json.dumps(err).encode(), s.headers)


def _as_scripted(r: Scripted | str) -> Scripted:
    return r if isinstance(r, Scripted) else reply(str(r))
