"""Protocol flags: measured settings that differ from the paper's, in words."""

from evalsuite.leaderboard.flags import protocol_differences
from evalsuite.leaderboard.reference import load_reference


def _paper(benchmark):
    return load_reference().benchmarks[benchmark].protocol


def _protocol(**changes):
    base = {"num_fewshot": 5, "output": "loglikelihood", "chat_template": False, "fewshot_as_multiturn": False,
            "metric": "acc", "aggregation": "macro", "judge": None, "limit": None}
    return base | changes


def test_paper_protocol_is_not_flagged_and_chat_template_is_unknown_for_lm_eval():
    assert protocol_differences(_protocol(), _paper("kmmlu")) == []
    assert protocol_differences(_protocol(chat_template=True), _paper("kmmlu")) == []


def test_each_difference_is_said():
    flags = protocol_differences(_protocol(num_fewshot=0, aggregation="micro", limit=10), _paper("kmmlu"))
    assert flags == [
        "run with --limit 10 (a subset of the items): not comparable",
        "0-shot (paper: 5-shot)",
        "aggregation micro (paper: macro)",
    ]


def test_accepted_alternatives_and_judge():
    kobest = _protocol(metric="f1", aggregation="per_task")
    assert protocol_differences(kobest, _paper("kobest_copa")) == []
    assert protocol_differences(kobest | {"metric": "acc"}, _paper("kobest_copa")) == ["metric acc (paper: f1 or macro_f1)"]
    judge = {"num_fewshot": 0, "output": "two_turn_chat", "chat_template": True, "metric": "judge_score",
             "aggregation": "judge_mean", "judge": "gpt-4-0613", "limit": None}
    assert protocol_differences(judge, _paper("mt_bench")) == []
    assert protocol_differences(judge | {"judge": "gpt-4o", "chat_template": False}, _paper("komt_bench")) == [
        "chat template off (paper: on)", "judge gpt-4o (paper: gpt-4-0613)"]


def test_unrecorded_field_is_flagged():
    protocol = _protocol()
    del protocol["num_fewshot"]
    assert protocol_differences(protocol, _paper("kmmlu")) == ["num fewshot not recorded (paper: 5)"]
