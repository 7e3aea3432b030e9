"""A loopback OpenAI-compatible judge with the Files and Batches API, for `--judge_mode batch` tests.

It is ReplayJudgeServer (online /v1/chat/completions, /v1/models) plus the documented Batch API:
    POST /v1/files (multipart: file, purpose)      -> a file object (openai.types.FileObject)
    GET  /v1/files/{id}, /v1/files/{id}/content
    POST /v1/batches {input_file_id, endpoint, completion_window, metadata} -> a batch (openai.types.Batch)
    GET  /v1/batches/{id}, GET /v1/batches (list), POST /v1/batches/{id}/cancel
A batch moves validating -> in_progress -> finalizing -> completed, one step per look (GET) at it, unless
`hold` is set (it then stays in_progress until release()). Its input file is validated as OpenAI does
(JSONL, unique custom_id, method POST, the batch's url, at most one model); a bad one fails the batch.
Each line is answered by the responder (the same one as online), written to the output file as
{id, custom_id, response: {status_code, request_id, body}, error: null}; `line_fault(body)` may instead
give an HTTP status or (status, message) (an error-file line), or "missing" (a line in neither file). `batch_faults` are served
in order, one per created batch: "expire" (lines not answered go to the error file with code
batch_expired; `expire_after` lines are answered first), "fail" (validation failure), "cancel"
(the batch is cancelled by the server: error lines with code batch_cancelled). Replies carry usage
counted as 1 token per 4 characters. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP
from typing import Callable, Iterable

from tests.support.replay_server import ReplayJudgeServer, Responder, completion_body

LineFault = Callable[[dict], "int | tuple[int, str] | str | None"]
BATCH_FAULTS = ("expire", "fail", "cancel")


class BatchJudgeServer(ReplayJudgeServer):
    """ReplayJudgeServer with /v1/files and /v1/batches (see the module docstring)."""

    def __init__(self, responder: Responder, *, line_fault: LineFault | None = None,
                 batch_faults: Iterable[str] = (), expire_after: int = 0, hold: bool = False, **kwargs):
        super().__init__(responder, **kwargs)
        unknown = [f for f in batch_faults if f not in BATCH_FAULTS]
        if unknown:
            raise ValueError(f"unknown batch faults {unknown}; known: {BATCH_FAULTS}")
        self.line_fault = line_fault
        self.batch_faults = deque(batch_faults)
        self.expire_after = expire_after
        self.hold = hold
        self.files: dict[str, dict] = {}  # id -> {"object": FileObject fields, "data": bytes}
        self.batches: dict[str, dict] = {}
        self.creates = 0
        self.uploads = 0
        self.batch_lines: list[dict] = []  # every input line of every created batch, in order
        self._ids = 0
        self._batch_lock = threading.Lock()
        self.content_drip_s = 0.0  # > 0: file contents are sent one byte at a time (a slow drip)

    def release(self) -> None:
        """Let held batches go on."""
        self.hold = False

    def completion(self, payload: dict, completion_id: str) -> dict:
        body = completion_body(self.responder, payload, completion_id)
        prompt = sum(len(str(m.get("content", ""))) for m in payload.get("messages", [])) // 4
        reply = body["choices"][0]["message"]["content"]
        body["usage"] = {"prompt_tokens": prompt, "completion_tokens": len(reply) // 4,
                         "total_tokens": prompt + len(reply) // 4}
        return body

    # -- state ------------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids:06d}"

    def _add_file(self, data: bytes, filename: str, purpose: str) -> dict:
        file_id = self._new_id("file")
        obj = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
               "filename": filename, "purpose": purpose, "status": "processed", "expires_at": None,
               "status_details": None}
        self.files[file_id] = {"object": obj, "data": data}
        return obj

    def _create(self, request: dict) -> tuple[int, dict]:
        file = self.files.get(request.get("input_file_id"))
        if file is None:
            return 404, _error(f"No such File object: {request.get('input_file_id')}", "invalid_request_error")
        if request.get("completion_window") != "24h" or request.get("endpoint") not in (
                "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"):
            return 400, _error("invalid endpoint or completion_window", "invalid_request_error")
        now = int(time.time())
        batch = {"id": self._new_id("batch"), "object": "batch", "endpoint": request["endpoint"], "errors": None,
                 "input_file_id": file["object"]["id"], "completion_window": "24h", "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
                 "expires_at": now + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
                 "expired_at": None, "cancelling_at": None, "cancelled_at": None,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0},
                 "metadata": request.get("metadata"), "model": None}
        self.creates += 1
        fault = self.batch_faults.popleft() if self.batch_faults else None
        self.batches[batch["id"]] = {"object": batch, "fault": fault, "lines": _parse_lines(file["data"])}
        self.batch_lines.extend(line for line in self.batches[batch["id"]]["lines"] if isinstance(line, dict))
        return 200, batch

    def _advance(self, batch_id: str) -> dict:
        """One look at a batch: its next status (see the module docstring)."""
        state = self.batches[batch_id]
        batch = state["object"]
        now = int(time.time())
        status = batch["status"]
        if status == "validating":
            problem = _invalid(state["lines"], batch["endpoint"]) or (
                "injected validation failure" if state["fault"] == "fail" else None)
            if problem:
                batch.update(status="failed", failed_at=now, errors={"object": "list", "data": [
                    {"code": "invalid_request", "message": problem, "param": None, "line": None}]})
            else:
                batch.update(status="in_progress", in_progress_at=now,
                             request_counts={"total": len(state["lines"]), "completed": 0, "failed": 0})
        elif status == "in_progress" and not self.hold:
            if state["fault"] == "expire":
                self._finish(state, answer=self.expire_after, error_code="batch_expired")
                batch.update(status="expired", expired_at=now)
            elif state["fault"] == "cancel":
                self._finish(state, answer=0, error_code="batch_cancelled")
                batch.update(status="cancelled", cancelling_at=now, cancelled_at=now)
            else:
                batch.update(status="finalizing", finalizing_at=now)
        elif status == "finalizing":
            self._finish(state, answer=len(state["lines"]), error_code=None)
            batch.update(status="completed", completed_at=now)
        elif status == "cancelling":
            self._finish(state, answer=0, error_code="batch_cancelled")
            batch.update(status="cancelled", cancelled_at=now)
        return batch

    def _finish(self, state: dict, answer: int, error_code: str | None) -> None:
        """Answer the first `answer` lines, the rest as `error_code` error lines; write the files."""
        output, errors = [], []
        for number, line in enumerate(state["lines"]):
            request_id = self._new_id("req")
            envelope = {"id": self._new_id("batch_req"), "custom_id": line["custom_id"]}
            if number >= answer:
                message = {"batch_expired": "This request could not be executed before the completion window expired.",
                           "batch_cancelled": "This request was not executed because the batch was cancelled."}
                errors.append({**envelope, "response": None,
                               "error": {"code": error_code, "message": message[error_code]}})
                continue
            fault = self.line_fault(line["body"]) if self.line_fault else None
            if fault == "missing":
                continue
            if isinstance(fault, (int, tuple)):  # a status, or (status, message)
                status, text = fault if isinstance(fault, tuple) else (fault, f"injected HTTP {fault}")
                errors.append({**envelope, "response": {"status_code": status, "request_id": request_id,
                                                        "body": _error(text, "server_error")}, "error": None})
                continue
            body = self.completion(line["body"], f"chatcmpl-{request_id}")
            output.append({**envelope, "response": {"status_code": 200, "request_id": request_id, "body": body},
                           "error": None})
        batch = state["object"]
        batch["request_counts"] = {"total": len(state["lines"]), "completed": len(output), "failed": len(errors)}
        if output:
            batch["output_file_id"] = self._add_file(_jsonl(output), "batch_output.jsonl", "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._add_file(_jsonl(errors), "batch_errors.jsonl", "batch_output")["id"]

    # -- HTTP -------------------------------------------------------------------------------------
    def _handler_class(self):
        base = super()._handler_class()
        server = self

        class Handler(base):
            def _json(self, status: int, obj: dict) -> None:
                self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

            def _drip(self, data: bytes) -> None:
                """A hostile file download: one byte every `content_drip_s` seconds."""
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for k in range(len(data)):
                        self.wfile.write(data[k:k + 1])
                        self.wfile.flush()
                        time.sleep(server.content_drip_s)
                except OSError:  # the client gave up
                    pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                parts = path.split("/")
                if path.endswith("/content") and server.content_drip_s and parts[-2] in server.files:
                    return self._drip(server.files[parts[-2]]["data"])
                with server._batch_lock:
                    if path.endswith("/content") and parts[-2] in server.files:
                        self._send(200, server.files[parts[-2]]["data"], "application/octet-stream")
                    elif len(parts) >= 2 and parts[-2] == "files" and parts[-1] in server.files:
                        self._json(200, server.files[parts[-1]]["object"])
                    elif len(parts) >= 2 and parts[-2] == "batches" and parts[-1] in server.batches:
                        self._json(200, server._advance(parts[-1]))
                    elif path.endswith("/batches"):
                        data = [b["object"] for b in reversed(list(server.batches.values()))]
                        self._json(200, {"object": "list", "data": data, "has_more": False,
                                         "first_id": data[0]["id"] if data else None,
                                         "last_id": data[-1]["id"] if data else None})
                    elif "/files" in path or "/batches" in path:
                        self._json(404, _error("No such object", "invalid_request_error"))
                    else:
                        super().do_GET()

            def do_POST(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if not (path.endswith("/files") or "/batches" in path):
                    super().do_POST()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._batch_lock:
                    if path.endswith("/files"):
                        fields = _multipart(self.headers.get("Content-Type", ""), raw)
                        if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
                            self._json(400, _error("need a file and purpose batch", "invalid_request_error"))
                            return
                        server.uploads += 1
                        self._json(200, server._add_file(fields["file"][1], fields["file"][0] or "upload", "batch"))
                    elif path.endswith("/batches"):
                        self._json(*server._create(json.loads(raw or b"{}")))
                    elif path.endswith("/cancel") and path.split("/")[-2] in server.batches:
                        batch = server.batches[path.split("/")[-2]]["object"]
                        if batch["status"] in ("validating", "in_progress", "finalizing"):
                            batch.update(status="cancelling", cancelling_at=int(time.time()))
                        self._json(200, batch)
                    else:
                        self._json(404, _error("No such object", "invalid_request_error"))

        return Handler


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _parse_lines(data: bytes) -> list:
    lines = []
    for raw in data.decode("utf-8").splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                lines.append(None)
    return lines


def _invalid(lines: list, endpoint: str) -> str | None:
    """Why OpenAI would refuse this input file, or None."""
    if not lines:
        return "the input file is empty"
    seen, models = set(), set()
    for number, line in enumerate(lines, 1):
        if not isinstance(line, dict) or set(line) != {"custom_id", "method", "url", "body"}:
            return f"line {number}: needs exactly custom_id, method, url and body"
        if line["method"] != "POST" or line["url"] != endpoint or not isinstance(line["body"], dict):
            return f"line {number}: method must be POST and url the batch's endpoint {endpoint}"
        if line["custom_id"] in seen:
            return f"line {number}: duplicate custom_id {line['custom_id']}"
        seen.add(line["custom_id"])
        models.add(line["body"].get("model"))
    return "a batch may use one model only" if len(models) > 1 else None


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


if __name__ == "__main__":  # python -m tests.support.batch_server --judgments FILE [--port N]: as replay_server's
    from tests.support.replay_server import main

    raise SystemExit(main(server_class=BatchJudgeServer, doc=__doc__))
