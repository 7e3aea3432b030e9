"""Protocol flags: settings the report states raise flags, inferred ones only notes, in words."""

from evalsuite.leaderboard.flags import inferred_differences, protocol_differences, protocol_summary
from evalsuite.leaderboard.reference import load_reference


def _paper(benchmark):
    return load_reference().protocol_of(benchmark)


def _protocol(**changes):
    base = {"num_fewshot": 5, "output": "loglikelihood", "chat_template": False, "fewshot_as_multiturn": False,
            "metric": "acc", "aggregation": "macro", "judge": None, "limit": None}
    return base | changes


def _judge_protocol(judge):
    return {"num_fewshot": 0, "output": "two_turn_chat", "chat_template": True, "metric": "judge_score",
            "aggregation": "judge_mean", "judge": judge, "limit": None}


def test_paper_protocol_is_not_flagged_and_unknown_settings_never_are():
    assert protocol_differences(_protocol(), _paper("kmmlu")) == []
    assert protocol_differences(_protocol(chat_template=True), _paper("kmmlu")) == []


def test_stated_differences_are_flagged_inferred_ones_are_notes():
    measured = _protocol(num_fewshot=0, aggregation="micro", limit=10)
    assert protocol_differences(measured, _paper("kmmlu")) == [
        "run with --limit 10 (a subset of the items): not comparable",
        "0-shot (paper: 5-shot)",
    ]
    assert inferred_differences(measured, _paper("kmmlu")) == ["aggregation micro (inferred for the paper: macro)"]


def test_accepted_alternatives():
    kobest = _protocol(metric="f1", aggregation="per_task")
    assert protocol_differences(kobest, _paper("kobest_copa")) == []
    assert protocol_differences(kobest | {"metric": "acc"}, _paper("kobest_copa")) == ["metric acc (paper: f1 or macro_f1)"]


def test_judge_flag_compares_the_judge_model_of_a_recorded_judge_block():
    block = {"model": "gpt-4-0613", "prompts": "fastchat", "repeats": 1, "temperature": 0.0, "max_tokens": 2048}
    assert protocol_differences(_judge_protocol(block), _paper("komt_bench")) == []
    other = protocol_differences(_judge_protocol(block | {"model": "gpt-4o"}) | {"chat_template": False},
                                 _paper("komt_bench"))
    assert other == ["chat template off (paper: on)", "judge gpt-4o (paper: gpt-4-0613)"]
    assert protocol_differences(_judge_protocol("gpt-4-0613"), _paper("komt_bench")) == []


def test_no_python_repr_in_words():
    block = {"model": "gpt-4o", "repeats": 1}
    text = protocol_summary(_judge_protocol(block)) + " ".join(
        protocol_differences(_judge_protocol(block), _paper("komt_bench")))
    assert "{" not in text and "'" not in text and "judge gpt-4o" in text


def test_unrecorded_stated_setting_is_flagged():
    protocol = _protocol()
    del protocol["num_fewshot"]
    assert protocol_differences(protocol, _paper("kmmlu")) == ["num fewshot not recorded (paper: 5)"]
