"""The served path end to end through the CLI against a real OpenAI-compatible server started here:
llama.cpp's (llama-cpp-python) serving the embedded model's GGUF. A loglikelihood benchmark through
local-completions (the request path only: llama-cpp-python's prompt log-probabilities are shifted by
one token, so its scores are not checked), a generation, a code and a judged benchmark's answers
through local-chat-completions, all with num_concurrent > 1, and a run killed midway that resumes.
The fixtures are tiny (2-4 items per benchmark)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import FIXTURE_DATA, REPO, run_cli
from evalsuite.judging.embedded_server import EmbeddedJudgeServer
from evalsuite.models.embedded import embedded_gguf_path, embedded_hf_dir
from evalsuite.models.loader import parse_model_args
from evalsuite.results.schema import validate_result
from evalsuite.sandbox import os_isolation_available

pytestmark = pytest.mark.real_server


@pytest.fixture(scope="module")
def server():
    with EmbeddedJudgeServer(embedded_gguf_path()) as running:
        yield running


def _posts(server, endpoint: str) -> int:
    """Requests the server has answered on /v1/<endpoint> (its HTTP access log)."""
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    return text.count(f'"POST /v1/{endpoint} HTTP/1.1" 200')


def _chat(server, concurrent: int = 2) -> list[str]:
    return ["--model", "local-chat-completions",
            "--model_args", f"model={server.model_name},base_url={server.base_url}/chat/completions,"
                            f"num_concurrent={concurrent}"]


def _result(folder, benchmark: str) -> dict:
    results = sorted(folder.glob(f"{benchmark}*.json"))
    assert len(results) == 1, results
    result = json.loads(results[0].read_text(encoding="utf-8"))
    assert validate_result(result) == []
    return result


def test_loglikelihood_benchmark_through_local_completions(server, tmp_path):
    """llama-cpp-python takes text prompts only (tokenized_requests=False) and one per request."""
    if parse_model_args("tokenized_requests=False")["tokenized_requests"] is not False:
        pytest.skip("needs lm-eval's typed --model_args parsing (issue 17 item 1): 'False' would be a true string")
    before = _posts(server, "completions")
    done = run_cli("run", "--model", "local-completions", "--model_name", "smol-served",
                   "--model_args", f"model={server.model_name},base_url={server.base_url}/completions,"
                                   f"tokenizer={embedded_hf_dir()},tokenized_requests=False,num_concurrent=2",
                   "--tasks", "kobest_copa", "--limit", "2", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = _result(tmp_path / "smol-served", "kobest_copa")
    assert result["n"] == 2 and result["model"]["type"] == "local-completions"
    assert result["model"]["name"] == "smol-served" and result["provenance"]["batch_size"] == "1"
    assert _posts(server, "completions") - before == 4  # 2 items x 2 choices, each echoed with logprobs
    assert 0 <= result["score"] <= 100


def test_generation_benchmark_resumes_after_the_run_is_killed(server, tmp_path):
    """IFEval through the chat endpoint, 2 requests at once; killed (SIGKILL) once a reply is cached,
    the same command finishes with the cached replies and sends only the rest; a third run sends nothing."""
    args = ["run", *_chat(server), "--tasks", "ifeval", "--limit", "4", "--gen_kwargs", "max_gen_toks=24",
            "--data_dir", str(FIXTURE_DATA), "--output_path", str(tmp_path)]
    cache = tmp_path / server.model_name / ".cache"
    killed = subprocess.Popen([sys.executable, str(REPO / "run_eval.py"), *args], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while _cached_replies(cache) < 1 and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    cached = _cached_replies(cache)
    assert 1 <= cached < 4, cached
    assert not list((tmp_path / server.model_name).glob("ifeval*.json"))
    time.sleep(3)  # a request in flight when the run died still finishes on the server
    before = _posts(server, "chat/completions")
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    finished = _posts(server, "chat/completions")
    assert finished - before <= 4 - cached
    result = _result(tmp_path / server.model_name, "ifeval")
    assert result["n"] == 4 and result["protocol"]["gen_kwargs"] == "max_gen_toks=24"
    again = run_cli(*args)
    assert again.returncode == 0 and "skipped" in again.stdout
    assert _posts(server, "chat/completions") == finished  # done: nothing sent


def _cached_replies(cache_folder) -> int:
    """Replies in lm-eval's response cache (sqlite, written as each reply arrives)."""
    count = 0
    for db in cache_folder.glob("*.db") if cache_folder.is_dir() else []:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
                count += connection.execute("SELECT COUNT(*) FROM unnamed").fetchone()[0]
        except sqlite3.Error:
            pass
    return count


def test_code_benchmark_through_local_chat_completions(server, tmp_path):
    done = run_cli("run", *_chat(server), "--model_name", "smol-chat", "--tasks", "humaneval", "--limit", "2",
                   "--gen_kwargs", "max_gen_toks=64", "--allow_code_execution",
                   *([] if os_isolation_available() else ["--allow_unisolated_execution"]),
                   "--output_path", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = _result(tmp_path / "smol-chat", "humaneval")
    assert result["model"]["name"] == "smol-chat" and result["provenance"]["batch_size"] == "1"
    assert result["n"] == 2 and result["provenance"]["isolation"] in ("bwrap", "subprocess")
    assert result["protocol"]["chat_template"] is True  # the server applies the model's chat template


def test_judged_benchmark_answers_through_local_chat_completions(server, tmp_path):
    """MT-Bench's two-turn answers generated by the served model, judged by the embedded judge."""
    done = run_cli("run", *_chat(server), "--tasks", "mt_bench", "--limit", "1", "--answer_max_tokens", "24",
                   "--judge_model", "embedded", "--judge_reask", "2", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    slug = server.model_name
    result = _result(tmp_path / slug, "mt_bench")
    assert result["model"]["type"] == "local-chat-completions" and result["provenance"]["answers"]["source"] == "generated"
    answers = [json.loads(line) for line in
               (tmp_path / slug / "mt_bench" / "model_answer" / f"{slug}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(answers) == 1 and len(answers[0]["choices"][0]["turns"]) == 2
    assert all(turn.strip() for turn in answers[0]["choices"][0]["turns"])


def test_a_real_server_refusing_a_request_says_why(server, tmp_path):
    """llama-cpp-python takes no token-id prompts (lm-eval's default for loglikelihood): its own reply (a
    500 naming the validation error) and the loglikelihood hint, in one line, instead of "500 Server Error"."""
    done = run_cli("run", "--model", "local-completions",
                   "--model_args", f"model={server.model_name},base_url={server.base_url}/completions,"
                                   f"tokenizer={embedded_hf_dir()},max_retries=1",
                   "--tasks", "kobest_copa", "--limit", "1", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path))
    assert done.returncode == 1, done.stderr[-3000:]
    [line] = [line[line.index("error: "):] for line in done.stderr.splitlines() if "error: " in line]
    assert line.startswith(f"error: kobest_copa: the model server at {server.base_url}/completions answered HTTP 500: ")
    assert "'loc': ('body', 'prompt', 'str'), 'msg': 'Input should be a valid string'" in line  # the server's reply
    assert "tokenized_requests=False" in line and "echo=true" in line
