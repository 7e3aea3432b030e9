"""The samples file: bounded fields with marked cuts, shared lines stored once and rebuilt exactly,
atomic writes, hostile files refused with one reason."""

from __future__ import annotations

import json

import pytest

from evalsuite.results.samples import (
    CONTEXT_CAP, LIST_CAP, TEXT_CAP, TRUNCATION_MARK, dumps_samples, parse_samples, read_samples, write_samples,
)
from evalsuite.results.store import UnreadableFile

FEWSHOT = "".join(f"Example question number {i} about accounting?\nA. yes\nB. no\nAnswer: A\n\n" for i in range(5))


def _mc_row(i: int) -> dict:
    context = FEWSHOT + f"The {i}-th question that is asked only once here?\nA. yes\nB. no\nAnswer:"
    return {"item": str(i), "score": float(i % 2), "group": "g", "doc_id": i, "doc": {"q": i},
            "arguments": [[context, " A"], [context, " B"]], "loglikelihoods": [-1.0, -2.0], "pred": 0}


def test_shared_lines_are_stored_once_and_rebuilt_exactly(tmp_path):
    rows = [_mc_row(i) for i in range(50)]
    path = tmp_path / "samples" / "b.jsonl"
    write_samples(path, rows)
    text = path.read_text(encoding="utf-8")
    header = json.loads(text.splitlines()[0])
    assert header["samples_format"] == 2
    assert text.count("Example question number 3") == 1  # the few-shot line once, not 100 times
    assert read_samples(path) == rows  # every request rebuilt byte for byte
    assert len(text) < len(json.dumps(rows)) / 1.5


def test_caps_cut_and_mark_fields():
    long_reply = "x" * (TEXT_CAP + 10)
    row = {"item": "1", "score": None, "group": None, "response": long_reply, "resps": list(range(LIST_CAP + 5))}
    (back,) = parse_samples(dumps_samples([row]).encode())
    assert back["response"].endswith(TRUNCATION_MARK) and len(back["response"]) == TEXT_CAP + len(TRUNCATION_MARK)
    assert back["truncated"] == {"response": TEXT_CAP + 10, "resps": LIST_CAP + 5}
    assert len(back["resps"]) == LIST_CAP
    (same,) = parse_samples(dumps_samples([{"item": "1", "score": 1.0, "response": "short"}]).encode())
    assert "truncated" not in same


def test_old_rows_without_header_still_read():
    data = b'{"item": "a", "score": 1.0}\n{"item": "b", "score": 0.0}\n{"torn": \n'
    assert [r["item"] for r in parse_samples(data)] == ["a", "b"]


def test_hostile_segment_reference_is_one_line_error():
    data = b'{"samples_format": 2, "segments": ["x\\n"]}\n{"item": "a", "score": 1, "arguments": [[[0, 7], " A"]]}\n'
    with pytest.raises(UnreadableFile, match="missing segment"):
        parse_samples(data)
    with pytest.raises(UnreadableFile, match="segments"):
        parse_samples(b'{"samples_format": 2, "segments": [1]}\n')


def test_a_few_bytes_naming_one_long_segment_many_times_are_refused_before_they_are_built():
    """A 2 MB file whose rows name a 1 MB segment 100,000 times each would rebuild 100 GB: a request
    longer than the writer's cap is refused, and one at the cap (a cut, marked context) still reads."""
    segment = "y" * 1_000_000
    references = ",".join(["0"] * 100_000)
    data = (json.dumps({"samples_format": 2, "segments": [segment]}) + "\n"
            + '{"item": "a", "score": 1, "arguments": [[[' + references + '], " A"]]}\n').encode()
    with pytest.raises(UnreadableFile, match="longer than"):
        parse_samples(data)
    at_cap = "z" * CONTEXT_CAP + TRUNCATION_MARK
    (row,) = parse_samples(dumps_samples([{"item": "b", "score": 0.0, "arguments": [[at_cap, " B"]]}]).encode())
    assert row["arguments"][0][0] == at_cap


def test_missing_file_is_no_rows(tmp_path):
    assert read_samples(tmp_path / "none.jsonl") == []


def test_multiple_choice_rows_carry_loglikelihoods_and_the_requests():
    from evalsuite.declarations import get_benchmark
    from evalsuite.runner.lm_eval_rows import mc_rows

    context = "Q?\nA. a\nB. b\nC. c\nD. d\n정답："
    logged = {  # lm-eval's logged sample of one 4-choice item (evaluator.py, log_samples)
        "doc_id": 3, "doc": {"question": "Q?", "answer": 2, "Category": "Accounting"}, "target": 1,
        "arguments": [(context, f" {c}") for c in "ABCD"],
        "resps": [[(-2.5, False)], [(-0.5, True)], [(-1.5, False)], [(-3.0, False)]],
        "filtered_resps": [(-2.5, False), (-0.5, True), (-1.5, False), (-3.0, False)],
        "filter": "none", "metrics": ["acc"], "acc": 1.0,
    }
    (row,) = mc_rows(get_benchmark("kmmlu"), "es_kmmlu_accounting", [logged], {"subject": "Accounting"})
    assert row["loglikelihoods"] == [-2.5, -0.5, -1.5, -3.0] and row["pred"] == 1 and row["label"] == 1
    assert row["choice_texts"] == [" A", " B", " C", " D"] and row["metrics"] == {"acc": 1.0}
    assert row["arguments"] == [[context, f" {c}"] for c in "ABCD"] and row["doc"]["question"] == "Q?"
    (back,) = parse_samples(dumps_samples([row]).encode())
    assert back == json.loads(json.dumps(row))
