"""The real parts: answers from the embedded model through lm-eval's HFLM, and the real llama.cpp judge."""

import json
from pathlib import Path

import pytest

from evalsuite.judging.options import JudgeOptions
from tests.support.replay_server import ReplayJudgeServer
from evalsuite.judging.benchmark import run_judge_benchmark
from evalsuite.results.schema import validate_result

from tests.conftest import FIXTURE_DATA as FIXTURES


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.real_server
def test_embedded_llama_cpp_judge(tmp_path):
    """`--judge_model embedded`: a real llama.cpp server on 127.0.0.1 judges through the same client;
    garbage first replies are re-asked (grammar-constrained) and counted; the server is gone afterwards."""
    import psutil

    options = JudgeOptions(judge_model="embedded", answers_file=FIXTURES / "mt_bench/model_answer/tiny-model.jsonl",
                           judge_max_tokens=48, reasks=2, progress=False)
    result = run_judge_benchmark("mt_bench", model=None, options=options, output_path=tmp_path,
                                 data_dir=FIXTURES, limit=1, force=False)
    judge = "embedded-SmolLM2-135M-Instruct.Q4_1"
    judged = _rows(tmp_path / f"tiny-model/mt_bench/model_judgment/{judge}_single.jsonl")
    assert len(judged) == 2 and all(j["judge"] == [judge, j["prompt_name"]] and j["judgment"] for j in judged)
    assert validate_result(result) == [] and result["protocol"]["judge"]["model"] == judge
    assert result["protocol"]["judge"]["reasks"] == 2
    assert result["provenance"]["judge"]["endpoint_host"] == "127.0.0.1"
    assert result["failures"]["parse"] == sum(j["status"] == "parse_failure" for j in judged)
    assert result["metrics"]["reasks"] == sum(j["attempts"] - 1 for j in judged)
    for j in judged:
        assert (j["status"], j["score"] != -1) in {("ok", True), ("parse_failure", False)}
        assert j["attempts"] <= 3 and len(j["replies"]) == j["attempts"]
    me = psutil.Process()
    assert not [p for p in me.children(recursive=True) if "llama_cpp.server" in " ".join(p.cmdline())]


@pytest.mark.real_model
def test_answers_from_the_embedded_model_through_lm_eval(tmp_path):
    """Two-turn generation through HFLM: chat template, turn 2 conditioned on turn 1, FastChat schema."""
    from evalsuite.models.loader import load_model

    model = load_model("embedded", None, batch_size=2)
    lm = model.lm
    seen = []
    original = lm.generate_until

    def recording(requests, *args, **kwargs):
        seen.append([r.args for r in requests])
        return original(requests, *args, **kwargs)

    lm.generate_until = recording
    with ReplayJudgeServer(lambda m: "Rating: [[3]]", lifetime_s=300) as server:
        options = JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, max_new_tokens=12, progress=False)
        result = run_judge_benchmark("mt_bench", model=model, options=options, output_path=tmp_path,
                                     data_dir=FIXTURES, limit=2, force=False)
    assert validate_result(result) == [] and result["score"] == 3.0 and result["protocol"]["max_new_tokens"] == 12
    assert len(seen) == 2 and [len(batch) for batch in seen] == [2, 2]  # all turn 1 at once, then all turn 2
    (ctx1, kw1), (ctx2, _) = seen[0][0], seen[1][0]
    assert kw1 == {"until": [], "max_gen_toks": 12, "temperature": 0.7, "do_sample": True}  # writing
    assert seen[0][1][1]["do_sample"] is False and seen[0][1][1]["temperature"] == 0.0  # reasoning: greedy
    answers = _rows(tmp_path / "SmolLM2-135M-Instruct/mt_bench/model_answer/SmolLM2-135M-Instruct.jsonl")
    assert [a["question_id"] for a in answers] == [81, 101]
    assert set(answers[0]) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
    turn1 = answers[0]["choices"][0]["turns"][0]
    assert "<|im_start|>user\nWrite a haiku about autumn rain.<|im_end|>" in ctx1 and ctx1.endswith("<|im_start|>assistant\n")
    assert f"<|im_start|>assistant\n{turn1}<|im_end|>" in ctx2 and "Rewrite your haiku" in ctx2
    # a second run reuses the cached answers: no generation at all
    seen.clear()
    with ReplayJudgeServer(lambda m: "Rating: [[3]]", lifetime_s=300) as server:
        options = JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, max_new_tokens=12, progress=False)
        run_judge_benchmark("mt_bench", model=model, options=options, output_path=tmp_path,
                            data_dir=FIXTURES, limit=2, force=True)
    assert seen == []
