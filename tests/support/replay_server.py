"""A loopback OpenAI-compatible judge that replays recorded judgments (e.g. FastChat's gpt-4_single.jsonl).

It checks that evalsuite reproduces a published score from the same judge replies, and measures
the client's throughput and fault handling: fixed latency, and injected faults served in order
("429", "500", "401", "timeout", "garbage", "drop", "echo_auth": a 400 whose body echoes the
Authorization header, as some proxies do) before normal replies; a fault may also be a function of the
request handler that writes a reply of its own (a hostile endpoint's bytes). Listens on 127.0.0.1
only and stops by itself after `lifetime_s` or `max_requests`.

    python -m tests.support.replay_server --judgments model_judgment/gpt-4_single.jsonl
    python -m tests.support.replay_server --fallback "Rating: [[8]]" --latency 0.25
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable

# A reply is the text, or {"content": text, "logprobs": <chat logprobs object or None>} (logprob_reply)
Responder = Callable[[list[dict]], "str | dict"]
RawFault = Callable[[BaseHTTPRequestHandler], None]  # writes the whole reply itself
FAULTS = ("429", "500", "401", "timeout", "garbage", "drop", "echo_auth")


def logprob_reply(tokens: list[str], top_logprobs: list[tuple[str, float]] | None) -> dict:
    """A reply of `tokens` whose first token carries `top_logprobs` (OpenAI's chat `logprobs.content`
    shape; later tokens list only themselves); None: a reply without log-probabilities."""
    if top_logprobs is None:
        return {"content": "".join(tokens), "logprobs": None}

    def entry(token: str, logprob: float) -> dict:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    content = [{**entry(token, top_logprobs[0][1] if k == 0 else -0.5),
                "top_logprobs": [entry(t, lp) for t, lp in (top_logprobs if k == 0 else [(token, -0.5)])]}
               for k, token in enumerate(tokens)]
    return {"content": "".join(tokens), "logprobs": {"content": content, "refusal": None}}


def replay_responder(judgment_rows: Iterable[dict], fallback: str = "") -> Responder:
    """Reply with the recorded `judgment` of the row whose `user_prompt` is the request's first user message."""
    table = {row["user_prompt"]: row["judgment"] for row in judgment_rows if "user_prompt" in row}

    def respond(messages: list[dict]) -> str:
        user = next((m.get("content") for m in messages if m.get("role") == "user"), None)
        return table.get(user, fallback)

    return respond


def completion_body(responder: Responder, payload: dict, completion_id: str) -> dict:
    """The chat.completion object answering a request `payload` with the responder's reply."""
    reply = responder(payload.get("messages", []))
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
    if isinstance(reply, dict):
        choice.update(message={"role": "assistant", "content": reply["content"]},
                      logprobs=reply.get("logprobs"), finish_reason="length")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload.get("model", "replay"),
        "choices": [choice],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops SYNs of a concurrent client's burst (1 s stalls)


class ReplayJudgeServer:
    """OpenAI-compatible /v1/chat/completions and /v1/models on 127.0.0.1, in a background thread."""

    def __init__(
        self,
        responder: Responder,
        *,
        latency_s: float = 0.0,
        faults: Iterable[str | RawFault] = (),
        timeout_sleep_s: float = 5.0,
        lifetime_s: float = 600.0,
        max_requests: int = 100_000,
        port: int = 0,
        models_status: int = 200,
    ):
        unknown = [f for f in faults if not callable(f) and f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        self.responder = responder
        self.models_status = models_status  # the status of GET /models (a key check's probe)
        self.latency_s = latency_s
        self.timeout_sleep_s = timeout_sleep_s
        self.max_requests = max_requests
        self.lifetime_s = lifetime_s
        self.requests: list[dict] = []
        self._faults = deque(faults)
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def base_url(self) -> str:
        """The /v1 base URL for an OpenAI client."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "ReplayJudgeServer":
        """Serve in a daemon thread until stop(), the lifetime or the request cap."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._timer:
            self._timer.cancel()
        if self._thread and self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ReplayJudgeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def completion(self, payload: dict, completion_id: str) -> dict:
        """The chat.completion object answering `payload` (usage: zero tokens)."""
        return completion_body(self.responder, payload, completion_id)

    def _next_fault(self) -> "str | RawFault | None":
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out without a delayed-ACK stall

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models") and server.models_status != 200:
                    self._send(server.models_status, b'{"error": {"message": "invalid api key"}}')
                elif self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "replay", "object": "model"}]}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append({"messages": payload.get("messages", []), "model": payload.get("model"),
                                            "payload": payload, "headers": {k.lower(): v for k, v in self.headers.items()}, "t": time.time()})
                    count = len(server.requests)
                if count >= server.max_requests:
                    threading.Thread(target=server.stop, daemon=True).start()
                fault = server._next_fault()
                time.sleep(server.latency_s)
                try:
                    self._reply(fault, payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _reply(self, fault: "str | RawFault | None", payload: dict) -> None:
                if callable(fault):
                    fault(self)
                    return
                if fault == "429":
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                    body = b'{"error": {"message": "rate limited", "type": "rate_limit"}}'
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if fault == "500":
                    self._send(500, b'{"error": {"message": "internal error"}}')
                    return
                if fault == "401":
                    self._send(401, b'{"error": {"message": "invalid api key"}}')
                    return
                if fault == "echo_auth":
                    auth = self.headers.get("Authorization") or ""
                    key = auth.split()[-1] if auth else ""
                    echoed = json.dumps({"error": {"message": f"bad request with key {key} (Authorization: {auth})"}})
                    self._send(400, echoed.encode())
                    return
                if fault == "garbage":
                    self._send(200, b"<html>502 Bad Gateway</html>", "application/json")
                    return
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "timeout":
                    time.sleep(server.timeout_sleep_s)
                body = server.completion(payload, f"replay-{len(server.requests)}")
                self._send(200, json.dumps(body, ensure_ascii=False).encode("utf-8"))

        return Handler


def main(argv: list[str] | None = None, server_class: type | None = None, doc: str | None = None) -> int:
    """Serve a FastChat judgment file until the lifetime ends or Ctrl-C (with `server_class`, default
    ReplayJudgeServer)."""
    parser = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    parser.add_argument("--judgments", type=Path, help="FastChat judgment jsonl to replay")
    parser.add_argument("--fallback", default="", help="reply for prompts not in the file (or every reply)")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=3600.0)
    args = parser.parse_args(argv)
    rows = [] if args.judgments is None else [
        json.loads(line) for line in args.judgments.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    server = (server_class or ReplayJudgeServer)(replay_responder(rows, args.fallback), latency_s=args.latency,
                                                 lifetime_s=args.lifetime, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        while server._thread and server._thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
