"""A model behind a server, what goes wrong first: a chat endpoint asked for loglikelihood, a server's
HTTP error, an unreachable Hub for the tokenizer. Real lm-eval API models against real HTTP servers on
127.0.0.1 (tests/support/replay_server.py answers as an OpenAI-compatible server with injected faults)."""

import socket
import time

import pytest

from tests.conftest import FIXTURE_DATA, run_cli
from evalsuite.models.served import hub_reachable
from tests.support.replay_server import ReplayJudgeServer

SECRET = "sk-served-test-secret-4242"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket goes


def _last_line(done) -> str:
    return done.stderr.strip().splitlines()[-1]


def test_a_chat_endpoint_asked_for_loglikelihood_benchmarks_fails_before_any_work(tmp_path):
    done = run_cli("run", "--model", "local-chat-completions",
                   "--model_args", f"model=m,base_url=http://127.0.0.1:{_closed_port()}/v1/chat/completions",
                   "--tasks", "gsm8k,kobest_copa,kmmlu", "--output_path", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr[-2000:]
    last = _last_line(done)
    assert "cannot run loglikelihood benchmarks (kmmlu, kobest_copa)" in last and "local-completions" in last
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("concurrent", [1, 2], ids=["requests", "async"])
def test_a_server_error_is_one_line_with_the_reply_scrubbed_and_a_hint(tmp_path, concurrent):
    """lm-eval raises "400 Client Error" (one request at a time) or a bare status (concurrent requests);
    the line says the status, the server's own reply without the key, and what to try."""
    with ReplayJudgeServer(lambda m: "unused", faults=["echo_auth"] * 8) as server:
        done = run_cli("run", "--model", "local-chat-completions",
                       "--model_args", f"model=served,base_url={server.base_url}/chat/completions,max_retries=2,"
                                       f"num_concurrent={concurrent}",
                       "--tasks", "gsm8k", "--limit", "1", "--data_dir", str(FIXTURE_DATA),
                       "--output_path", str(tmp_path / "out"), env={"OPENAI_API_KEY": SECRET})
        assert server.requests, "the request reached the server"
    assert done.returncode == 1, done.stderr[-2000:]
    [line] = [line[line.index("error: "):] for line in done.stderr.splitlines() if "error: " in line]  # after a bar
    assert line.startswith(f"error: gsm8k: the model server at {server.base_url}/chat/completions answered HTTP 400: ")
    assert '{"error": {"message": "bad request with key *** (Authorization: ***' in line  # the reply, scrubbed
    assert "check the model name (model=)" in line  # the hint of a generation benchmark
    assert SECRET not in done.stderr + done.stdout
    assert not list((tmp_path / "out").rglob("gsm8k*.json"))


def test_an_unreachable_hub_names_tokenizer_at_once(tmp_path):
    """local-completions needs the model's tokenizer; with the Hub offline and nothing cached the error
    comes at once (not after a minute of Hub retries) and names tokenizer=."""
    started = time.monotonic()
    done = run_cli("run", "--model", "local-completions",
                   "--model_args", f"model=org/never-cached-model,base_url=http://127.0.0.1:{_closed_port()}/v1/completions",
                   "--tasks", "kobest_copa", "--limit", "1", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path / "out"),
                   env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr[-2000:]
    last = _last_line(done)
    assert "cannot load tokenizer 'org/never-cached-model': the Hugging Face Hub is unreachable" in last
    assert "not in the local cache; pass tokenizer=/path/to/a/local/tokenizer/folder" in last
    assert "Retrying in" not in done.stderr  # huggingface_hub's retries (about 55 s offline) never started
    assert elapsed < 120, elapsed  # the interpreter and lm-eval's imports included, on a busy machine


def test_hub_reachability_is_a_quick_connection_test(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    assert hub_reachable() is False
    assert time.monotonic() - started < 4
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
        assert hub_reachable() is True


def test_a_server_that_is_down_is_named_in_seconds(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1/chat/completions"
    done = run_cli("run", "--model", "local-chat-completions", "--model_args", f"model=m,base_url={url},num_concurrent=2",
                   "--tasks", "gsm8k", "--limit", "1", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr[-2000:]
    [line] = [line[line.index("error: "):] for line in done.stderr.splitlines() if "error: " in line]
    assert line.startswith(f"error: gsm8k: cannot reach the model server at {url}: ")
    assert "is it running and listening there? base_url must name the endpoint itself" in line
