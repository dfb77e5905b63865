"""``OpenAIHttpBackend``: generation on a shared OpenAI-compatible server.

Why: a site may move generation to a GPU server (llama.cpp's server, vLLM,
Ollama) while audio and transcription stay on the desktop. The backend speaks
``POST /v1/chat/completions`` with ``stream: true`` (server-sent events: one
``data:`` JSON chunk per token, then ``data: [DONE]``) with the standard
library only, so it adds no dependency.

Failure rules (the contract is in ``backend``): the overall deadline
(``timeout_s``) ends an answer with ``finish="timeout"`` and the text so far. A
refused connection, an HTTP error, ``read_timeout`` seconds without a byte (a
hung server), something that is not an event stream, or a stream closed before
``[DONE]`` raise ``BackendUnavailable`` (a dropped stream keeps its text in
``partial``) and set ``state`` DOWN with ``detail``; ``probe`` (``GET /v1/models``)
or the next good answer sets it back to READY. HTTP 400/413/422 (this request
was refused, e.g. a prompt too long) raise but leave the state READY.

Thread rules: one ``generate`` at a time (a lock serialises callers). ``cancel``
may be set from any thread: while a request is in flight a watcher thread polls
it every 50 ms and shuts the socket down, so even a read blocked on a silent
server returns at once with ``finish="cancelled"``. ``state``/``detail`` may be
read from any thread.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from typing import Any, Literal
from urllib.parse import urlsplit

from agent_assist.llm.backend import (
    BackendState,
    BackendUnavailable,
    Finish,
    Generation,
    GenerationRequest,
    TokenSink,
)

__all__ = ["OpenAIHttpBackend", "SchemaStyle", "response_format"]

# "llama.cpp": {"type": "json_object", "schema": S} (llama.cpp server, llama_cpp.server);
# "openai": {"type": "json_schema", "json_schema": {...}} (OpenAI, vLLM, Ollama).
SchemaStyle = Literal["llama.cpp", "openai"]
_MAX_BODY = 1 << 20
_FIX_URL = "check that the URL points to an OpenAI-compatible server (/v1/chat/completions)"


def response_format(schema: dict[str, Any], style: SchemaStyle) -> dict[str, Any]:
    """The ``response_format`` that makes a server of ``style`` follow ``schema``."""
    if style == "openai":
        return {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    return {"type": "json_object", "schema": schema}


class _Abort(Exception):
    """Ends an answer early without an error: cancelled or past the deadline."""

    def __init__(self, finish: Finish) -> None:
        super().__init__(finish)
        self.finish: Finish = finish


class _Rejected(BackendUnavailable):
    """HTTP 400/413/422: the server is up but refused this request."""


def _watch(cancel: threading.Event, conn: http.client.HTTPConnection) -> threading.Event:
    """Start the watcher that shuts ``conn`` down once ``cancel`` is set; set the
    returned event to stop it."""
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            if cancel.wait(0.05):
                if conn.sock is not None:
                    with contextlib.suppress(OSError):
                        conn.sock.shutdown(socket.SHUT_RDWR)
                return

    threading.Thread(target=run, name="llm-http-cancel", daemon=True).start()
    return done


class OpenAIHttpBackend:
    """An ``LLMBackend`` on an OpenAI-compatible server at ``base_url`` (its root or /v1).

    ``read_timeout``: the longest silence tolerated between bytes. ``penalty_param``:
    the repeat-penalty field (``repeat_penalty`` for llama.cpp, ``repetition_penalty``
    for vLLM, None to leave it out). ``model="default"`` reports the model the
    server lists once ``probe`` has run.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "default",
        api_key: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        schema_style: SchemaStyle = "llama.cpp",
        penalty_param: str | None = "repeat_penalty",
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendUnavailable(
                f"'{base_url}' is not an http(s) URL of an LLM server",
                fix="give the server as http://HOST:PORT (e.g. http://127.0.0.1:8080)",
            )
        prefix = parts.path.rstrip("/").removesuffix("/v1")
        self._conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._host, self._port, self._api = parts.hostname, parts.port, prefix + "/v1"
        self.base_url = f"{parts.scheme}://{parts.netloc}{prefix}"
        self._model, self._served = model, ""
        self._api_key = api_key
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.schema_style: SchemaStyle = schema_style
        self._penalty_param = penalty_param
        self._lock = threading.Lock()
        self._state, self._detail = BackendState.LOADING, "not probed yet"

    @property
    def name(self) -> str:
        return "openai-http"

    @property
    def model(self) -> str:
        return self._served if self._model == "default" and self._served else self._model

    @property
    def state(self) -> BackendState:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    def probe(self) -> BackendState:
        """``GET /v1/models`` within ``connect_timeout``: READY if it lists models, else DOWN."""
        conn = self._conn_cls(self._host, self._port, timeout=self.connect_timeout)
        try:
            conn.request("GET", f"{self._api}/models", headers=self._headers())
            with contextlib.closing(conn.getresponse()) as resp:
                body = resp.read(_MAX_BODY)
            if resp.status != 200:
                raise self.http_error(resp.status, body)
            data = json.loads(body).get("data")
            if not isinstance(data, list):
                raise self.error(f"sent no model list at {self._api}/models", _FIX_URL)
            served = next((str(m["id"]) for m in data if isinstance(m, dict) and "id" in m), "")
            self._served = served.rsplit("/", 1)[-1] if served.endswith(".gguf") else served
            self._set(BackendState.READY, "")
        except BackendUnavailable as err:
            self._set(BackendState.DOWN, err.message)
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as err:
            self._set(BackendState.DOWN, self.os_error(err, "probing").message)
        finally:
            conn.close()
        return self._state

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_token: TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        with self._lock:
            self._state = BackendState.BUSY
            try:
                result = self._generate(request, time.perf_counter(), on_token, cancel)
            except BackendUnavailable as err:
                self._set(
                    BackendState.READY if isinstance(err, _Rejected) else BackendState.DOWN, err.message
                )
                raise
            finally:
                if self._state is BackendState.BUSY:  # also when on_token raised
                    self._set(BackendState.READY, "")
            return result

    def close(self) -> None:
        """Nothing to free: every answer opens and closes its own connection."""

    def _set(self, state: BackendState, detail: str) -> None:
        self._state, self._detail = state, detail

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream, application/json", "Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, request: GenerationRequest) -> bytes:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if self._penalty_param:
            body[self._penalty_param] = request.repeat_penalty
        if request.json_schema is not None:
            body["response_format"] = response_format(request.json_schema, self.schema_style)
        return json.dumps(body).encode()

    def _generate(
        self,
        request: GenerationRequest,
        start: float,
        on_token: TokenSink | None,
        cancel: threading.Event | None,
    ) -> Generation:
        stream = _Stream(self, start, start + request.timeout_s, on_token, cancel)
        conn = self._conn_cls(
            self._host, self._port, timeout=max(0.001, min(self.connect_timeout, request.timeout_s))
        )
        watcher = _watch(cancel, conn) if cancel is not None else None
        try:
            stream.check()
            try:
                conn.connect()
            except OSError as err:
                stream.check(slack=0.05)
                raise self.os_error(err, "connecting") from err
            stream.run(conn, f"{self._api}/chat/completions", self._body(request), self._headers())
        except _Abort as stop:
            stream.finish = stop.finish
        finally:
            conn.close()
            if watcher is not None:
                watcher.set()
        return stream.result()

    def error(self, what: str, fix: str, partial: str = "") -> BackendUnavailable:
        return BackendUnavailable(f"LLM server at {self.base_url} {what}", fix=fix, partial=partial)

    def os_error(self, err: BaseException, doing: str) -> BackendUnavailable:
        if isinstance(err, ConnectionRefusedError):
            return self.error(
                "refused the connection (not running?)", "start the server or correct its URL"
            )
        if isinstance(err, TimeoutError) and doing == "connecting":
            return self.error(
                f"did not accept a connection within {self.connect_timeout:g} s",
                "check the host, the port and that no firewall blocks it",
            )
        if isinstance(err, TimeoutError):
            return self.error(
                f"sent nothing for {self.read_timeout:g} s (hung or overloaded)",
                "check the server and its log, or raise the read timeout",
            )
        return self.error(
            f"failed while {doing}: {err or type(err).__name__}", "check that it is running"
        )

    def http_error(self, status: int, body: bytes) -> BackendUnavailable:
        message = body[:300].decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            obj = json.loads(body)
            err = obj.get("error") or obj.get("detail") or obj
            message = str(err.get("message", err) if isinstance(err, dict) else err)[:300]
        message = " ".join(message.split())  # one line, even for a traceback
        fix = {401: "check the API key", 403: "check the API key", 404: _FIX_URL}.get(
            status, "see its log"
        )
        cls = _Rejected if status in (400, 413, 422) else BackendUnavailable
        return cls(f"LLM server at {self.base_url} answered HTTP {status}: {message}", fix=fix)


class _Stream:
    """One answer being read: the SSE parser, token accounting, the clock and cancel."""

    def __init__(
        self,
        backend: OpenAIHttpBackend,
        start: float,
        deadline: float,
        on_token: TokenSink | None,
        cancel: threading.Event | None,
    ) -> None:
        self.b, self.start, self.deadline, self.on_token, self.cancel = (
            backend,
            start,
            deadline,
            on_token,
            cancel,
        )
        self.parts: list[str] = []
        self.tokens, self.done = 0, False
        self.first: float | None = None
        self.reason: str | None = None
        self.finish: Finish | None = None
        self.sock: socket.socket | None = None

    def check(self, slack: float = 0.0) -> None:
        """Cancel and the deadline win over whatever a read reported."""
        if self.cancel is not None and self.cancel.is_set():
            raise _Abort("cancelled")
        if time.perf_counter() >= self.deadline - slack:
            raise _Abort("timeout")

    def _arm(self) -> None:
        """Before each read: wait at most until the deadline or the stall limit."""
        self.check()
        if self.sock is not None:
            remaining = self.deadline - time.perf_counter()
            self.sock.settimeout(max(0.001, min(self.b.read_timeout, remaining)))

    def run(
        self, conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        self.sock = conn.sock
        try:
            self._arm()
            conn.request("POST", path, body=body, headers=headers)
            with contextlib.closing(conn.getresponse()) as resp:  # it owns the socket now
                self._arm()
                if resp.status != 200:
                    raise self.b.http_error(resp.status, resp.read(4096))
                if (resp.getheader("Content-Type") or "").startswith("application/json"):
                    self._chunk(self._json(resp.read(_MAX_BODY)), "message")  # ignored `stream`
                    return
                self._events(resp)
        except TimeoutError as err:
            self.check(slack=0.05)
            raise self.b.os_error(err, "streaming") from err
        except http.client.BadStatusLine as err:
            self.check()
            raise self.b.error(
                f"sent something that is not an HTTP answer: {err!s:.80}", _FIX_URL
            ) from err
        except (OSError, http.client.HTTPException) as err:
            self.check()
            if self.parts or isinstance(err, http.client.IncompleteRead):
                raise self._dropped() from err
            raise self.b.os_error(err, "streaming") from err
        if not self.done and self.reason is None:
            self.check()
            raise self._dropped()

    def _dropped(self) -> BackendUnavailable:
        return self.b.error(
            "ended the stream mid-answer", "check its log (crash? out of memory?)", self.text
        )

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def _events(self, resp: http.client.HTTPResponse) -> None:
        data: list[str] = []
        while not self.done:
            self._arm()
            raw = resp.readline(_MAX_BODY)
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not raw.endswith(b"\n") and len(raw) >= _MAX_BODY:
                raise self.b.error("sent a line over 1 MB", _FIX_URL, self.text)
            if not line:
                self._event(data)
                data = []
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value.removeprefix(" "))
            elif field == "error":
                raise self.b.error(f"reported: {value.strip()[:300]}", "see its log", self.text)
            elif field not in ("", "event", "id", "retry"):
                raise self.b.error(
                    f"sent something that is not an event stream: {line[:80]!r}", _FIX_URL
                )
        self._event(data)

    def _event(self, data: list[str]) -> None:
        if not data:
            return
        text = "\n".join(data)
        if text.strip() == "[DONE]":
            self.done = True
        else:
            self._chunk(self._json(text.encode()), "delta")

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise self.b.error(
                f"sent data that is not JSON: {raw[:80]!r}", _FIX_URL, self.text
            ) from None

    def _chunk(self, obj: Any, key: str) -> None:
        if not isinstance(obj, dict):
            raise self.b.error(f"sent an unexpected chunk: {str(obj)[:80]!r}", _FIX_URL, self.text)
        if "error" in obj:
            raise self.b.error(f"reported: {str(obj['error'])[:300]}", "see its log", self.text)
        choices = obj.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(choice, dict):
            part = choice.get(key)
            content = part.get("content") if isinstance(part, dict) else None
            if content:
                self._token(str(content))
            if choice.get("finish_reason"):
                self.reason = str(choice["finish_reason"])
        usage = obj.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self.tokens = usage["completion_tokens"]
        if key == "message":
            self.done = True

    def _token(self, text: str) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.start
        self.parts.append(text)
        self.tokens += 1
        if self.on_token is not None:
            self.on_token(text)
        self.check()

    def result(self) -> Generation:
        return Generation(
            text=self.text,
            finish=self.finish or ("length" if self.reason == "length" else "stop"),
            tokens=self.tokens,
            first_token_s=self.first,
            total_s=time.perf_counter() - self.start,
            model=self.b.model,
            backend=self.b.name,
            extra={"finish_reason": self.reason, "server": self.b.base_url},
        )
