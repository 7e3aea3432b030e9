"""Language of an answer turn (KoMT-Bench's non-Korean penalty) with the offline lingua detector.

The language is that of the answer's prose: fenced and inline code are removed first, and an
answer that is a JSON document is read through its string values (keys are identifiers the
question dictated). Text with no words left is undetermined ("und") and never penalized.
lingua picks a single language, the one with most text; a mixed answer whose words are at least
`MIXED_KOREAN_SHARE` Korean (prose around equations, English terms, JSON with Korean values) counts
as Korean.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Iterator

from evalsuite.judging.definitions import LanguageRule

UNDETERMINED = "und"
MIXED_KOREAN_SHARE = 0.3
_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_WORD = re.compile(r"[^\W\d_]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [Language.KOREAN, Language.ENGLISH, Language.JAPANESE, Language.CHINESE]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _string_values(obj) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _string_values(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _string_values(value)


def prose_of(text: str) -> str:
    """The natural-language part of an answer: code removed, JSON read through its values."""
    prose = _INLINE_CODE.sub(" ", _FENCED_CODE.sub(" ", text)).strip()
    if prose[:1] in "[{\"":
        try:
            prose = "\n".join(_string_values(json.loads(prose)))
        except (json.JSONDecodeError, RecursionError):
            pass
    return prose


def detect_language(text: str) -> str:
    """ISO 639-1 code of an answer's language ("ko", "en", ...), or "und" when it has no words."""
    prose = prose_of(text or "")
    words = _WORD.findall(prose)
    korean = sum(1 for w in words if _HANGUL.search(w))
    latin = sum(1 for w in words if _LATIN_WORD.fullmatch(w))
    if korean + latin == 0 and not any(len(w) > 1 for w in words):
        return UNDETERMINED
    detected = _detector().detect_language_of(prose)
    code = detected.iso_code_639_1.name.lower() if detected is not None else UNDETERMINED
    if code != "ko" and korean and korean / (korean + latin) >= MIXED_KOREAN_SHARE:
        return "ko"
    return code


def is_penalized(rule: LanguageRule | None, question_id: int, language: str, raw: float | None) -> bool:
    """Whether the language rule replaces this raw rating (valid, not exempt, detected non-target)."""
    return bool(
        rule is not None
        and raw is not None
        and question_id not in rule.exempt_questions
        and language not in (rule.language, UNDETERMINED)
    )


def apply_language_rule(rule: LanguageRule | None, question_id: int, language: str, raw: float | None) -> float | None:
    """The penalized rating: sqrt(raw) for a penalized turn, raw otherwise (None stays None)."""
    if is_penalized(rule, question_id, language, raw):
        return math.sqrt(raw)
    return raw
