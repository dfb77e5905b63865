"""The two real LLM backends: llama-cpp-python in-process and the OpenAI-compatible HTTP client.

The slow tests run the real SmolLM2-135M (in-process, and through a real
``python -m llama_cpp.server`` process on a loopback port); they assert
structure, schema validity and timing bounds, never the wording. Broken
servers are tiny stdlib fakes on 127.0.0.1 that hang, send garbage or drop the
stream mid-answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.llm import llama_local
from agent_assist.llm.backend import (
    BackendState,
    BackendUnavailable,
    ChatMessage,
    GenerationRequest,
)
from agent_assist.llm.http_openai import OpenAIHttpBackend
from agent_assist.llm.llama_local import LlamaCppBackend
from agent_assist.llm.loader import load_backend
from tests.conftest import data_home

SMOLLM2 = "smollm2-135m-instruct"
ASK = (ChatMessage("user", "Write two sentences about the sea."),)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string"},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "callback": {"type": "boolean"},
    },
    "required": ["reason", "sentiment", "callback"],
}
LONG_ASK = (ChatMessage("user", "Write a long story of at least 500 words about a lighthouse keeper."),)
SUMMARY_ASK = (
    ChatMessage("system", "Summarise the call as JSON with reason, sentiment and callback."),
    ChatMessage(
        "user", "Customer: my router keeps dropping the connection. Agent: I reset it remotely."
    ),
)


def check_schema(obj: Any) -> None:
    """A hand-rolled check of SCHEMA (no jsonschema dependency)."""
    assert isinstance(obj, dict)
    assert set(SCHEMA["required"]) <= set(obj)
    assert isinstance(obj["reason"], str)
    assert obj["sentiment"] in ("positive", "neutral", "negative")
    assert isinstance(obj["callback"], bool)


# -- fake servers -----------------------------------------------------------------------


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        reader = self.request.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            if not line:
                return
            head += line
        length = next(
            (
                int(h.split(b":")[1])
                for h in head.split(b"\r\n")
                if h.lower().startswith(b"content-length")
            ),
            0,
        )
        body = reader.read(length) if length else b""
        server: Any = self.server
        server.requests.append((head, body))
        server.respond(self.request, head, body)


@contextlib.contextmanager
def fake_server(respond: Callable[[socket.socket, bytes, bytes], None]) -> Iterator[Any]:
    """A raw TCP server on a free loopback port answering every request with ``respond``."""
    server: Any = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler, bind_and_activate=False)
    server.daemon_threads, server.block_on_close, server.allow_reuse_address = True, False, True
    server.server_bind()
    server.server_activate()
    server.respond, server.requests = respond, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sse(*chunks: str, done: bool = True) -> bytes:
    events = [
        "data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]})
        for c in chunks
    ]
    if done:
        events.append('data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}')
        events.append("data: [DONE]")
    return "".join(e + "\r\n\r\n" for e in events).encode()


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


def reply(status: int, body: bytes) -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(**kw: Any) -> GenerationRequest:
    return GenerationRequest(messages=ASK, **kw)


# -- HTTP backend against fakes -----------------------------------------------------------


def test_http_streams_tokens_and_sends_the_request() -> None:
    def respond(conn: socket.socket, head: bytes, body: bytes) -> None:
        if head.startswith(b"GET /v1/models"):
            conn.sendall(reply(200, b'{"object": "list", "data": [{"id": "fake-model"}]}'))
        else:
            conn.sendall(SSE_HEAD + sse("Hel", "lo", " there"))

    with fake_server(respond) as server:
        backend = OpenAIHttpBackend(server.url + "/v1/", api_key="k", schema_style="openai")
        assert backend.state is BackendState.LOADING
        assert backend.probe() is BackendState.READY
        assert backend.model == "fake-model"
        tokens: list[str] = []
        gen = backend.generate(
            request(json_schema=SCHEMA, seed=3, stop=("\n\n",)), on_token=tokens.append
        )
    assert tokens == ["Hel", "lo", " there"]
    assert (gen.text, gen.finish, gen.tokens, gen.backend) == ("Hello there", "stop", 3, "openai-http")
    assert gen.first_token_s is not None and gen.first_token_s <= gen.total_s
    head, body = server.requests[-1]
    assert head.startswith(b"POST /v1/chat/completions ") and b"Authorization: Bearer k" in head
    sent = json.loads(body)
    assert sent["stream"] is True and sent["seed"] == 3 and sent["stop"] == ["\n\n"]
    assert sent["repeat_penalty"] == 1.2 and sent["messages"][0]["role"] == "user"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == SCHEMA


def test_http_refused_is_down_with_detail() -> None:
    backend = OpenAIHttpBackend(f"http://127.0.0.1:{free_port()}")
    assert backend.probe() is BackendState.DOWN
    with pytest.raises(BackendUnavailable, match="refused") as err:
        backend.generate(request())
    assert err.value.fix and backend.state is BackendState.DOWN and "refused" in backend.detail


def test_http_bad_url() -> None:
    with pytest.raises(BackendUnavailable, match="not an http"):
        OpenAIHttpBackend("localhost:8080")


def _hang(release: threading.Event) -> Callable[[socket.socket, bytes, bytes], None]:
    def respond(conn: socket.socket, head: bytes, body: bytes) -> None:
        release.wait(10)

    return respond


def test_http_hung_server_is_down_after_read_timeout() -> None:
    release = threading.Event()
    with fake_server(_hang(release)) as server:
        backend = OpenAIHttpBackend(server.url, connect_timeout=0.3, read_timeout=0.3)
        t0 = time.perf_counter()
        with pytest.raises(BackendUnavailable, match="sent nothing"):
            backend.generate(request())
        assert time.perf_counter() - t0 < 2
        assert backend.state is BackendState.DOWN
        assert backend.probe() is BackendState.DOWN
        release.set()


def test_http_hung_server_deadline_and_cancel() -> None:
    release = threading.Event()
    with fake_server(_hang(release)) as server:
        backend = OpenAIHttpBackend(server.url, read_timeout=30)
        t0 = time.perf_counter()
        gen = backend.generate(request(timeout_s=0.4))
        assert gen.finish == "timeout" and gen.text == "" and gen.first_token_s is None
        assert 0.35 < time.perf_counter() - t0 < 2
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        t0 = time.perf_counter()
        gen = backend.generate(request(), cancel=cancel)
        assert gen.finish == "cancelled" and time.perf_counter() - t0 < 1.5
        release.set()


def test_http_cancel_and_deadline_mid_stream() -> None:
    def respond(conn: socket.socket, head: bytes, body: bytes) -> None:
        conn.sendall(SSE_HEAD)
        for i in range(40):
            conn.sendall(sse(f"t{i} ", done=False))
            time.sleep(0.05)
        conn.sendall(sse())

    with fake_server(respond) as server:
        backend = OpenAIHttpBackend(server.url)
        cancel = threading.Event()
        tokens: list[str] = []

        def on_token(text: str) -> None:
            tokens.append(text)
            if len(tokens) == 3:
                cancel.set()

        gen = backend.generate(request(), on_token=on_token, cancel=cancel)
        assert (gen.finish, gen.text, gen.tokens) == ("cancelled", "t0 t1 t2 ", 3)
        gen = backend.generate(request(timeout_s=0.5))
        assert gen.finish == "timeout" and 3 <= gen.tokens < 20 and gen.text.startswith("t0 t1 ")
        assert backend.state is BackendState.READY


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>hello</html>\n",
            "not an event stream",
        ),
        (SSE_HEAD + b"data: hello world\r\n\r\n", "not JSON"),
        (b"this is not http at all\r\n\r\n", "not an HTTP answer"),
        (reply(500, b'{"error": {"message": "oom", "code": 500}}'), "HTTP 500: oom"),
        (reply(404, b"not found"), "HTTP 404: not found"),
    ],
)
def test_http_garbage_and_errors_are_down(reply: bytes, match: str) -> None:
    with fake_server(lambda conn, head, body: conn.sendall(reply)) as server:
        backend = OpenAIHttpBackend(server.url)
        with pytest.raises(BackendUnavailable, match=match) as err:
            backend.generate(request())
    assert backend.state is BackendState.DOWN and match.split(":", maxsplit=1)[0] in backend.detail
    assert err.value.fix


def test_http_rejected_request_leaves_it_ready() -> None:
    with fake_server(
        lambda conn, head, body: conn.sendall(reply(400, b'{"detail": "prompt too long"}'))
    ) as server:
        backend = OpenAIHttpBackend(server.url)
        with pytest.raises(BackendUnavailable, match="HTTP 400: prompt too long"):
            backend.generate(request())
    assert backend.state is BackendState.READY


@pytest.mark.parametrize("chunked", [False, True])
def test_http_stream_dropped_mid_answer_keeps_partial(chunked: bool) -> None:
    def respond(conn: socket.socket, head: bytes, body: bytes) -> None:
        data = sse("Your ", "order ", done=False)
        if chunked:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n" % (len(data), data)
            )
        else:
            conn.sendall(SSE_HEAD + data)
        conn.shutdown(socket.SHUT_RDWR)

    with fake_server(respond) as server:
        backend = OpenAIHttpBackend(server.url)
        with pytest.raises(BackendUnavailable, match="mid-answer") as err:
            backend.generate(request())
    assert err.value.partial == "Your order "
    assert backend.state is BackendState.DOWN


def test_http_server_that_ignores_stream_still_answers() -> None:
    body = b'{"choices": [{"message": {"role": "assistant", "content": "All done."}, "finish_reason": "length"}]}'
    whole = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    with fake_server(lambda conn, head, b: conn.sendall(whole)) as server:
        tokens: list[str] = []
        gen = OpenAIHttpBackend(server.url).generate(request(), on_token=tokens.append)
    assert (tokens, gen.text, gen.finish) == (["All done."], "All done.", "length")


# -- in-process backend: bad files (no model needed) --------------------------------------


def write_gguf(path: Path, meta: dict[str, Any], size: int = 0) -> Path:
    """A GGUF v3 header with string/uint32 metadata and no tensors, padded (sparse) to ``size``."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 0, len(meta)))
    for key, value in meta.items():
        out += struct.pack("<Q", len(key)) + key.encode()
        if isinstance(value, str):
            out += struct.pack("<IQ", 8, len(value)) + value.encode()
        else:
            out += struct.pack("<II", 4, value)
    path.write_bytes(bytes(out))
    if size:
        with path.open("r+b") as f:
            f.truncate(size)
    return path


def test_local_missing_file_and_folder(tmp_path: Path) -> None:
    backend = LlamaCppBackend(tmp_path / "nope.gguf")
    assert backend.state.value == "loading"
    with pytest.raises(BackendUnavailable, match=r"nope\.gguf does not exist") as err:
        backend.generate(request())
    assert err.value.fix and "models install" in err.value.fix
    assert backend.state is BackendState.DOWN and "nope.gguf" in backend.detail
    assert LlamaCppBackend(tmp_path).probe() is BackendState.DOWN


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"PK\x03\x04 a zip, not a model", "starts with b'PK"),
        (b"GGUF\x03\x00", "cut short"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + struct.pack("<Q", 3) + b"key", "cut short"),
        (b"", "starts with b''"),
    ],
)
def test_local_not_a_gguf(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    backend = LlamaCppBackend(path)
    with pytest.raises(BackendUnavailable, match="not a usable GGUF") as err:
        backend.load()
    assert str(path) in err.value.message and why in err.value.message and err.value.fix
    assert backend.state is BackendState.DOWN


def test_local_model_too_big_for_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = {
        "general.architecture": "llama",
        "llama.block_count": 80,
        "llama.embedding_length": 8192,
        "llama.attention.head_count": 64,
        "llama.attention.head_count_kv": 8,
    }
    path = write_gguf(tmp_path / "big.Q4_K_M.gguf", meta, size=40 * 2**30)  # sparse: no disk used
    need = llama_local.memory_needed(path, llama_local.gguf_metadata(path), 4096)
    assert need == int(40 * 2**30 * 1.2) + 2 * 80 * 4096 * 1024 * 2
    monkeypatch.setattr(llama_local, "available_memory", lambda: 16 * 2**30)
    backend = LlamaCppBackend(path, n_ctx=4096)
    with pytest.raises(BackendUnavailable, match=r"needs about 49\.\d GB .* only 16\.0 GB") as err:
        backend.load()
    assert str(path) in err.value.message and err.value.fix and "smaller" in err.value.fix
    assert backend.state is BackendState.DOWN


def test_available_memory_is_read() -> None:
    have = llama_local.available_memory()
    assert have is not None and have > 2**20


# -- the loader ---------------------------------------------------------------------------


def test_loader_choices(tmp_path: Path) -> None:
    http = load_backend("qwen", server_url="http://10.0.0.5:8000/v1", api_key="secret")
    assert isinstance(http, OpenAIHttpBackend) and http.model == "qwen"
    assert http.base_url == "http://10.0.0.5:8000"
    file = load_backend(str(tmp_path / "mine.gguf"), n_threads=2, n_ctx=4096)
    assert isinstance(file, LlamaCppBackend) and file.chat_format is None
    assert (file.model, file.n_threads, file.n_ctx) == ("mine.gguf", 2, 4096)
    for gguf in ("a.gguf", "b.gguf"):
        (tmp_path / gguf).write_bytes(b"GGUF")
    with pytest.raises(BackendUnavailable, match=r"exactly one \.gguf"):
        load_backend(str(tmp_path))
    with pytest.raises(BackendUnavailable, match="unknown model 'nosuch'"):
        load_backend("nosuch")
    with pytest.raises(BackendUnavailable, match="not a language model"):
        load_backend("tiny.en")
    with pytest.raises(BackendUnavailable, match="is not installed") as err:
        load_backend()  # the default llm, in this test's empty data folder
    assert err.value.fix == f"run `agent-assist models install {SMOLLM2}`"


# -- the real SmolLM2, in-process -----------------------------------------------------------


# ``llm_home`` and ``smollm2_path`` (SmolLM2 installed once per session) are in conftest.py.


@pytest.fixture(scope="session")
def smollm2(llm_home: Path) -> Iterator[LlamaCppBackend]:
    """The real model through the loader, loaded once (1 thread, as the app: 2 threads
    slow down many times over when another process holds a core)."""
    with data_home(llm_home):
        backend = load_backend(SMOLLM2, n_threads=1)
    assert isinstance(backend, LlamaCppBackend)
    backend.load()
    yield backend
    backend.close()


def _stream_checks(backend: Any) -> None:
    tokens: list[str] = []
    gen = backend.generate(request(max_tokens=60, seed=1), on_token=tokens.append)
    assert len(tokens) >= 5 and "".join(tokens) == gen.text and gen.text.strip()
    assert gen.finish in ("stop", "length") and 5 <= gen.tokens <= 60
    assert gen.first_token_s is not None and 0 < gen.first_token_s < gen.total_s < 20
    assert backend.state is BackendState.READY and gen.model.endswith(("gguf", SMOLLM2))


def _schema_checks(backend: Any) -> None:
    for seed in (0, 1, 2):
        gen = backend.generate(
            GenerationRequest(
                messages=SUMMARY_ASK, json_schema=SCHEMA, max_tokens=150, seed=seed, temperature=0.7
            )
        )
        assert gen.finish == "stop", gen
        check_schema(json.loads(gen.text))


def _cancel_checks(backend: Any) -> None:
    cancel = threading.Event()
    tokens: list[str] = []

    def on_token(text: str) -> None:
        tokens.append(text)
        if len(tokens) == 3:
            cancel.set()

    long_ask = GenerationRequest(messages=LONG_ASK, max_tokens=400, temperature=0.8, seed=3)
    gen = backend.generate(long_ask, on_token=on_token, cancel=cancel)
    assert gen.finish == "cancelled" and len(tokens) <= 4 and gen.text == "".join(tokens)
    cancel = threading.Event()
    timer = threading.Timer(0.4, cancel.set)
    timer.start()
    gen = backend.generate(long_ask, cancel=cancel)
    timer.join()
    assert gen.finish == "cancelled" and gen.total_s < 1.5
    gen = backend.generate(long_ask, cancel=cancel)  # already set: superseded before it started
    assert (gen.finish, gen.text, gen.first_token_s) == ("cancelled", "", None)
    assert backend.generate(request(max_tokens=8)).finish in ("stop", "length")  # still usable


@pytest.mark.slow
@pytest.mark.model
def test_local_streams_tokens(smollm2: LlamaCppBackend) -> None:
    _stream_checks(smollm2)
    assert smollm2.model == SMOLLM2 and smollm2.chat_format == "chatml"


@pytest.mark.slow
@pytest.mark.model
def test_local_json_schema(smollm2: LlamaCppBackend) -> None:
    _schema_checks(smollm2)


@pytest.mark.slow
@pytest.mark.model
def test_local_cancel(smollm2: LlamaCppBackend) -> None:
    _cancel_checks(smollm2)


@pytest.mark.slow
@pytest.mark.model
def test_local_timeout_and_prompt_too_long(smollm2: LlamaCppBackend) -> None:
    long_ask = GenerationRequest(
        messages=LONG_ASK, max_tokens=400, temperature=0.8, seed=3, timeout_s=0.4
    )
    gen = smollm2.generate(long_ask)
    assert gen.finish == "timeout" and 0.4 <= gen.total_s < 1.5
    huge = GenerationRequest(messages=(ChatMessage("user", "refund policy " * 1500),))
    with pytest.raises(BackendUnavailable, match="context"):
        smollm2.generate(huge)
    assert smollm2.state is BackendState.READY


@pytest.mark.model
def test_local_real_model_too_big(smollm2_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_local, "available_memory", lambda: 64 * 2**20)
    with pytest.raises(BackendUnavailable, match=r"needs about 0\.2 GB") as err:
        LlamaCppBackend(smollm2_path).load()
    assert str(smollm2_path) in err.value.message


# -- the real SmolLM2 behind `python -m llama_cpp.server` ----------------------------------


@pytest.fixture(scope="module")
def llama_server(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, for this module."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path)]
    cmd += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"llama_cpp.server exited:\n{log_path.read_text()[-2000:]}"
            assert time.monotonic() < deadline, (
                f"llama_cpp.server never answered:\n{log_path.read_text()[-2000:]}"
            )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/v1/models", timeout=1) as resp,
            ):
                if resp.status == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(llama_server: str) -> OpenAIHttpBackend:
    backend = load_backend(server_url=llama_server)
    assert isinstance(backend, OpenAIHttpBackend)
    assert backend.probe() is BackendState.READY, backend.detail
    return backend


@pytest.mark.slow
@pytest.mark.model
def test_server_streams_tokens(served: OpenAIHttpBackend) -> None:
    _stream_checks(served)
    assert served.model == "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.slow
@pytest.mark.model
def test_server_json_schema(served: OpenAIHttpBackend) -> None:
    _schema_checks(served)


@pytest.mark.slow
@pytest.mark.model
def test_server_cancel(served: OpenAIHttpBackend) -> None:
    _cancel_checks(served)


def test_a_broken_llama_cpp_build_is_a_down_state_not_a_crash(
    smollm2_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from agent_assist.llm.backend import BackendState
    from agent_assist.llm.llama_local import LlamaCppBackend

    real_import = builtins.__import__

    def broken(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "llama_cpp":
            raise RuntimeError("Failed to load shared library 'libllama.so'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    backend = LlamaCppBackend(smollm2_path)
    assert backend.probe() == BackendState.DOWN
    assert "cannot be loaded" in backend.detail and "libllama.so" in backend.detail
