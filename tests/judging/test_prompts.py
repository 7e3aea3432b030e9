"""Judge definitions and FastChat-identical prompt rendering (MT-Bench and KoMT-Bench)."""


import pytest

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats.fastchat_single import prompt_name_for, render_judge_prompt

from tests.conftest import FIXTURE_DATA as FIXTURES, SHARED_DATA as SHARED


def _bench(name):
    definition = load_definition(name)
    return definition, load_benchmark_data(definition, FIXTURES)


def test_definitions_declare_fastchat_protocol():
    for name in ("mt_bench", "komt_bench"):
        d = load_definition(name)
        assert d.max_new_tokens == 1024 and d.judge_temperature == 0 and d.default_judge_model == "gpt-4-0613"
        assert d.settings.reference_categories == {"math", "reasoning", "coding"}
        assert [d.temperature_for(c) for c in ("writing", "roleplay", "extraction", "math", "coding",
                                               "reasoning", "stem", "humanities", "unknown")] == \
            [0.7, 0.7, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.7]
    assert load_definition("mt_bench").language_rule is None
    rule = load_definition("komt_bench").language_rule
    assert rule.language == "ko" and rule.exempt_questions == {138, 140}


def test_prompt_selection():
    d = load_definition("mt_bench")
    assert prompt_name_for(d, "writing", 1) == "single-v1"
    assert prompt_name_for(d, "math", 1) == "single-math-v1"
    assert prompt_name_for(d, "coding", 2) == "single-math-v1-multi-turn"
    assert prompt_name_for(d, "stem", 2) == "single-v1-multi-turn"


def test_mt_bench_turn1_general_and_reference():
    d, data = _bench("mt_bench")
    q81, q111 = data.questions[0], data.questions[2]
    r = render_judge_prompt(d, data.files["judge_prompts"], q81, ["ANSWER-1", "ANSWER-2"], 1, None)
    assert r.prompt_name == "single-v1"
    expected = ("[Instruction]\nRate the answer from 1 to 10 as \"[[rating]]\".\n\n[Question]\n"
                "Write a haiku about autumn rain.\n\n[The Start of Assistant's Answer]\nANSWER-1\n"
                "[The End of Assistant's Answer]")
    assert r.user_prompt == expected
    assert r.messages == [{"role": "system", "content": "You are a careful grader."},
                          {"role": "user", "content": expected}]
    r = render_judge_prompt(d, data.files["judge_prompts"], q111, ["391 {not a field}", "1"], 1, data.files["references"][111])
    assert r.prompt_name == "single-math-v1"
    assert r.user_prompt == (
        "[Instruction]\nCompare with the reference, then rate 1 to 10 as \"[[rating]]\".\n\n[Question]\n"
        "What is 17 * 23?\n\n[The Start of Reference Answer]\n17 * 23 = 391.\n[The End of Reference Answer]"
        "\n\n[The Start of Assistant's Answer]\n391 {not a field}\n[The End of Assistant's Answer]")


def test_mt_bench_turn2_general_and_reference():
    d, data = _bench("mt_bench")
    q81, q111 = data.questions[0], data.questions[2]
    r = render_judge_prompt(d, data.files["judge_prompts"], q81, ["A1", "A2"], 2, None)
    assert r.prompt_name == "single-v1-multi-turn"
    assert r.messages[0]["content"].endswith("as \"[[rating]]\".\n\n")
    assert r.user_prompt == (
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nWrite a haiku about autumn rain."
        "\n\n### Assistant A:\nA1\n\n### User:\nRewrite your haiku so that every line starts with the letter R."
        "\n\n### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation with User|>")
    r = render_judge_prompt(d, data.files["judge_prompts"], q111, ["A1", "A2"], 2, data.files["references"][111])
    assert r.prompt_name == "single-math-v1-multi-turn"
    assert r.user_prompt.startswith(
        "<|The Start of Reference Answer|>\n\n### User:\nWhat is 17 * 23?\n\n### Reference answer:\n17 * 23 = 391."
        "\n\n### User:\nDivide your result by 391. What do you get?\n\n### Reference answer:\n391 / 391 = 1."
        "\n\n<|The End of Reference Answer|>\n\n\n<|The Start of Assistant A's Conversation with User|>")
    assert r.user_prompt.endswith("### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation with User|>")


def test_komt_bench_all_four_prompts():
    d, data = _bench("komt_bench")
    q81, q111 = data.questions[0], data.questions[1]
    r1 = render_judge_prompt(d, data.files["judge_prompts"], q81, ["답1", "답2"], 1, None)
    assert r1.messages[0] == {"role": "system", "content": "당신은 꼼꼼한 채점자입니다."}
    assert r1.user_prompt == ("[Instruction]\n 답변을 1점부터 10점까지 \"[[rating]]\" 형식으로 평가하세요. 예시: \"점수: [[5]]\"."
                              "\n\n[사용자 질문]\n가을비에 대한 짧은 시를 써 주세요.\n\n[어시스턴트 답변 시작]\n답1\n[어시스턴트 답변 끝]")
    r2 = render_judge_prompt(d, data.files["judge_prompts"], q111, ["답1", "답2"], 1, data.files["references"][111])
    assert "[참조용 답변 시작]\n17 곱하기 23은 391입니다.\n[참조용 답변 끝]\n\n[어시스턴트 답변 시작]\n답1\n" in r2.user_prompt
    r3 = render_judge_prompt(d, data.files["judge_prompts"], q81, ["답1", "답2"], 2, None)
    assert r3.user_prompt == (
        "<|어시스턴트 A와 사용자와의 대화 시작|>\n\n### 사용자:\n가을비에 대한 짧은 시를 써 주세요.\n\n### 어시스턴트 A:\n답1"
        "\n\n### 사용자:\n방금 쓴 시의 모든 문장이 ㄱ으로 시작하도록 고쳐 쓰세요.\n\n### 어시스턴트 A:\n답2"
        "\n\n<|어시스턴트 A와 사용자와의 대화 종료|>")
    r4 = render_judge_prompt(d, data.files["judge_prompts"], q111, ["답1", "답2"], 2, data.files["references"][111])
    assert r4.prompt_name == "single-math-v1-multi-turn"
    assert "### 참조용 답변:\n391을 391로 나누면 1입니다.\n\n<|참조용 답변 끝|>" in r4.user_prompt
    assert r4.user_prompt.endswith("### 어시스턴트 A:\n답2\n\n<|어시스턴트 A와 사용자와의 대화 끝|>")


def test_missing_data_and_offline_source(tmp_path, monkeypatch):
    d = load_definition("mt_bench")
    with pytest.raises(BadInputError, match="question.jsonl is missing"):
        load_benchmark_data(d, tmp_path)
    # No --data_dir and an unreachable official source: one clear line with the hint.
    monkeypatch.delenv("EVALSUITE_DATA_DIR", raising=False)
    monkeypatch.setenv("EVALSUITE_CACHE", str(tmp_path / "cache"))
    files = {k: {**v, "url": "http://127.0.0.1:9/nothing.jsonl"} for k, v in d.files.items()}
    offline = d.__class__(**{**d.__dict__, "files": files})
    with pytest.raises(BadInputError, match="pass --data_dir"):
        load_benchmark_data(offline, None)


def test_bad_reference_file(tmp_path):
    for sub in ("mt_bench/reference_answer",):
        (tmp_path / sub).mkdir(parents=True)
    for name in ("question.jsonl", "judge_prompts.jsonl"):
        (tmp_path / "mt_bench" / name).write_bytes((FIXTURES / "mt_bench" / name).read_bytes())
    (tmp_path / "mt_bench/reference_answer/gpt-4.jsonl").write_text('{"question_id": 101}\n')
    with pytest.raises(BadInputError, match="reference answer for question"):
        load_benchmark_data(load_definition("mt_bench"), tmp_path)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["mt_bench", "komt_bench"])
def test_real_prompts_render_for_every_question(name):
    d = load_definition(name)
    data = load_benchmark_data(d, SHARED)
    assert len(data.questions) == 80
    for q in data.questions:
        for turn in (1, 2):
            r = render_judge_prompt(d, data.files["judge_prompts"], q, ["X1", "X2"], turn, data.files["references"].get(q["question_id"]))
            prompt = data.files["judge_prompts"][r.prompt_name]
            assert r.messages[0]["content"] == prompt["system_prompt"]
            assert "X1" in r.user_prompt and ("X2" in r.user_prompt) == (turn == 2)
            if q["category"] in d.settings.reference_categories:
                ref = data.files["references"][q["question_id"]]["choices"][0]["turns"]
                assert ref[0] in r.user_prompt and (ref[1] in r.user_prompt) == (turn == 2)
    # FastChat's single-v1 for question 81, checked piece by piece against the raw template.
    q81 = data.questions[0]
    raw = data.files["judge_prompts"]["single-v1"]["prompt_template"]
    head, tail = raw.split("{question}")
    r = render_judge_prompt(d, data.files["judge_prompts"], q81, ["X1", "X2"], 1, None)
    assert r.user_prompt == head + q81["turns"][0] + tail.replace("{answer}", "X1")
