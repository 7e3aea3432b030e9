"""KoMT-Bench's language rule: detection of an answer turn's language and the sqrt penalty."""

import json
import math
import time

import pytest

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import load_definition
from evalsuite.judging.language import (
    LINGUA, MEDIAPIPE, NOT_DETECTED, apply_language_rule, detect_language, detectors_for, is_penalized,
    lg_language,
)
from evalsuite.judging.options import JudgeOptions
from tests.conftest import SHARED_DATA as SHARED

RULE = load_definition("komt_bench").language_rule


@pytest.mark.parametrize("text,expected", [
    ("추석은 가족이 모여 송편을 먹는 한국의 명절입니다.", "ko"),
    ("Chuseok is the Korean harvest festival.", "en"),
    ("아래는 예시 코드입니다.\n\n```python\ndef add(a, b):\n    return a + b\n```\n`add` 함수를 사용하세요.", "ko"),
    ('{"도서명": "해리 포터", "author": "J.K. Rowling", "주인공": "해리 포터와 친구들"}', "ko"),
    ("[5, 1, 3]", "und"),
    ('{"iPhone": "B+", "Pixel": "C"}', "und"),
    ("", "und"),
    ("방정식을 정리하면 다음과 같습니다: a = sin(pi*b) - sqrt(7), c = cos(d) + integral(e)", "ko"),
    ("これは日本語の文章です。", "ja"),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_sqrt_rule_and_exemptions():
    assert apply_language_rule(RULE, 81, "en", 9.0) == 3.0
    assert apply_language_rule(RULE, 81, "ja", 4.0) == 2.0
    assert apply_language_rule(RULE, 81, "ko", 9.0) == 9.0
    assert apply_language_rule(RULE, 81, "und", 9.0) == 9.0
    assert apply_language_rule(RULE, 138, "en", 9.0) == 9.0
    assert apply_language_rule(RULE, 140, "en", 9.0) == 9.0
    assert apply_language_rule(RULE, 139, "en", 7.0) == pytest.approx(math.sqrt(7.0))
    assert apply_language_rule(RULE, 81, "en", None) is None      # unparsed stays unparsed
    assert apply_language_rule(None, 81, "en", 9.0) == 9.0         # MT-Bench: no rule
    assert is_penalized(RULE, 81, "en", 9.0) and not is_penalized(RULE, 140, "en", 9.0)


def _turns(path):
    return [(row["question_id"], row["choices"][0]["turns"]) for row in
            (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())]


@pytest.mark.shared_data
def test_detector_agreement_on_real_answers():
    """All 90 Korean GPT-4 references read as Korean (or language-neutral data); English answers never as Korean."""
    korean = _turns(SHARED / "komt_bench/reference_answer_ko/gpt-4.jsonl")
    english = _turns(SHARED / "mt_bench/model_answer/gpt-4.jsonl")
    start = time.perf_counter()
    ko_labels = {(q, i): detect_language(t) for q, turns in korean for i, t in enumerate(turns)}
    en_labels = {(q, i): detect_language(t) for q, turns in english for i, t in enumerate(turns)}
    elapsed = time.perf_counter() - start
    n_texts = len(ko_labels) + len(en_labels)
    not_penalized = [k for k, lang in ko_labels.items() if not is_penalized(RULE, k[0], lang, 5.0)]
    answers_ok = {q for q, _ in korean if all(not is_penalized(RULE, q, ko_labels[(q, i)], 5.0) for i in (0, 1))}
    strict_ko = sum(1 for lang in ko_labels.values() if lang == "ko")
    en_not_ko = sum(1 for lang in en_labels.values() if lang != "ko")
    print(f"\nKorean references: {len(answers_ok)}/{len(korean)} answers never penalized; "
          f"turns: {strict_ko} ko, {sum(1 for l in ko_labels.values() if l == 'und')} und (data only), "
          f"{len(ko_labels) - len(not_penalized)} penalized-if-not-exempt; "
          f"non-ko turns: {sorted((q, i + 1, l) for (q, i), l in ko_labels.items() if l not in ('ko',))}")
    print(f"English GPT-4 answers: {en_not_ko}/{len(en_labels)} turns not Korean; "
          f"detector speed {n_texts / elapsed:.0f} texts/s ({elapsed:.2f} s for {n_texts})")
    assert len(answers_ok) == len(korean) == 90
    assert en_not_ko == len(en_labels) == 160


@pytest.mark.parametrize("detections,language,penalized", [
    (["ko"], "ko", False),
    (["ko", "en"], "en", True),      # max_results=2: LG keeps the last detection returned
    (["en", "ko"], "ko", False),
    ([], NOT_DETECTED, True),        # no detection: not Korean
])
def test_lg_reading_of_mediapipe_detections(detections, language, penalized):
    assert lg_language(detections) == language
    assert is_penalized(RULE, 81, language, 8.0) is penalized


def test_mediapipe_rule_is_optional_and_checked_before_work(tmp_path):
    with pytest.raises(BadInputError, match="needs --mediapipe_model"):
        JudgeOptions(language_detector=MEDIAPIPE)
    with pytest.raises(BadInputError, match="is not a file"):
        JudgeOptions(language_detector=MEDIAPIPE, mediapipe_model=tmp_path / "missing.tflite")
    with pytest.raises(BadInputError, match="must be one of"):
        JudgeOptions(language_detector="fasttext")
    model = tmp_path / "language_detector.tflite"
    model.write_bytes(b"not a model")
    with pytest.raises(BadInputError, match="mediapipe"):
        detectors_for(RULE, MEDIAPIPE, model)  # without the package, or with a file that is no model
    assert list(detectors_for(RULE, LINGUA, None)) == [LINGUA]
    assert detectors_for(None, LINGUA, model) == {}  # no language rule: nothing detected
