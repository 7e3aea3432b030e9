"""Rating parsing: FastChat's patterns, the Korean forms, and failures."""

import pytest

from evalsuite.judging.definitions import load_definition
from evalsuite.judging.formats.fastchat_single import parse_rating

MT = load_definition("mt_bench")
KO = load_definition("komt_bench")


def mt(text):
    return parse_rating(text, MT)


def ko(text):
    return parse_rating(text, KO)


@pytest.mark.parametrize("text,expected", [
    ("Good answer. Rating: [[8]]", 8.0),
    ("Rating: [[8.5]]", 8.5),
    ("Rating: [[10]]", 10.0),
    ("Rating: [7]", 7.0),                      # FastChat's backup pattern
    ("[[3]] first wins over [[9]]", 3.0),
    ("[2] backup appears before [[6]]", 6.0),  # the double-bracket pattern is tried first
    ("Rating: [[8.]]", 8.0),
])
def test_fastchat_forms(text, expected):
    assert mt(text) == expected


@pytest.mark.parametrize("text", [
    "", None, "I would give it an eight.", "Rating: 8", "[[rating]]", "Rating: [[0]]", "[[11]]",
    "[[100]]", "점수: [[8점]]",
])
def test_failures_are_none(text):
    assert mt(text) is None


@pytest.mark.parametrize("text,expected", [
    ("설명... 점수: [[8]]", 8.0),
    ("평가: [[7]]", 7.0),
    ("점수: [[8.5]]", 8.5),
    ("최종 평가 [[6점]]", 6.0),
    ("점수: 9", 9.0),
    ("평가: 7/10", 7.0),
    ("평점：5", 5.0),
])
def test_korean_forms(text, expected):
    assert ko(text) == expected


def test_korean_failures():
    assert ko("점수를 매길 수 없습니다.") is None
    assert ko("점수: 15") is None
