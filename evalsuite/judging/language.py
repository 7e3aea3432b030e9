"""Language of an answer turn for a definition's language rule (KoMT-Bench's non-Korean penalty).

Two detectors, chosen with `--judge_language_detector`:

`lingua` (default, offline, a hard dependency): the language of the answer's prose. Fenced and
inline code are removed first, and an answer that is a JSON document is read through its string
values (keys are identifiers the question dictated). Text with no words left is undetermined
("und") and never penalized. lingua picks one language among ko/en/ja/zh, the one with most text;
a mixed answer whose words are at least `MIXED_KOREAN_SHARE` Korean counts as Korean.

`mediapipe` (LG's exact rule, LG-AI-EXAONE/KoMT-Bench detector.py; optional: needs the `mediapipe`
package and its language-detector model file, `--mediapipe_model PATH`): MediaPipe's
LanguageDetector with `max_results=2` on the raw answer text; the *last* detection returned wins
(so when MediaPipe returns a second candidate, that less likely language is the answer's), and an
empty detection list counts as not Korean.

Where they differ, LG's rule penalizes and ours does not: (1) an answer whose code or JSON keys
outweigh its Korean prose; (2) an answer with no words (numbers, code only, empty): LG's empty
detection is penalized, ours is "und"; (3) a Korean answer for which MediaPipe also returns a
second candidate language (LG takes the last one); (4) a mixed answer at least 30% Korean words that
MediaPipe reads as another language. Ours can penalize where LG does not only when lingua and
MediaPipe disagree on the prose itself. Each result with a language rule records how many turns
each detector penalizes (`n_penalized_lingua`, and `n_penalized_mediapipe` when MediaPipe and its
model are available).
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import LanguageRule

LINGUA = "lingua"
MEDIAPIPE = "mediapipe"
DETECTORS = (LINGUA, MEDIAPIPE)
UNDETERMINED = "und"
NOT_DETECTED = "none"  # LG's empty MediaPipe detection list: not the target language
MIXED_KOREAN_SHARE = 0.3
MEDIAPIPE_MAX_RESULTS = 2
_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_WORD = re.compile(r"[^\W\d_]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

Detector = Callable[[str], str]


@lru_cache(maxsize=1)
def _lingua():
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
        except (ValueError, RecursionError):  # not JSON, or an integer past Python's 4,300 digits
            pass
    return prose


def detect_language(text: str) -> str:
    """The lingua rule: ISO 639-1 code of an answer's prose ("ko", "en", ...), or "und" without words."""
    prose = prose_of(text or "")
    words = _WORD.findall(prose)
    korean = sum(1 for w in words if _HANGUL.search(w))
    latin = sum(1 for w in words if _LATIN_WORD.fullmatch(w))
    if korean + latin == 0 and not any(len(w) > 1 for w in words):
        return UNDETERMINED
    detected = _lingua().detect_language_of(prose)
    code = detected.iso_code_639_1.name.lower() if detected is not None else UNDETERMINED
    if code != "ko" and korean and korean / (korean + latin) >= MIXED_KOREAN_SHARE:
        return "ko"
    return code


def lg_language(detected_codes: Sequence[str]) -> str:
    """LG's reading of MediaPipe's detections (in the order returned): the last wins; none: NOT_DETECTED."""
    language = NOT_DETECTED
    for code in detected_codes:
        language = code
    return language


def mediapipe_detector(model_path: Path) -> Detector:
    """LG's rule on MediaPipe's LanguageDetector; BadInputError when mediapipe or the model is missing."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise BadInputError(f"--mediapipe_model {model_path} is not a file (MediaPipe's language_detector.tflite)")
    try:
        from mediapipe.tasks import python as mp_python
        from mediapipe.tasks.python import text as mp_text
    except ImportError as err:
        raise BadInputError(
            f"--judge_language_detector mediapipe needs the mediapipe package (pip install mediapipe): {err}"
        ) from err
    try:
        options = mp_text.LanguageDetectorOptions(
            base_options=mp_python.BaseOptions(model_asset_path=str(model_path)),
            max_results=MEDIAPIPE_MAX_RESULTS,
        )
        detector = mp_text.LanguageDetector.create_from_options(options)
    except (RuntimeError, ValueError, OSError) as err:
        raise BadInputError(f"--mediapipe_model {model_path}: not a MediaPipe language detector ({err})") from err

    def detect(text: str) -> str:
        return lg_language([d.language_code for d in detector.detect(text or "").detections])

    return detect


def detectors_for(rule: LanguageRule | None, chosen: str, mediapipe_model: Path | None) -> dict[str, Detector]:
    """The detectors a run computes, the scoring one (`chosen`) first; none without a language rule.

    lingua is always computed; MediaPipe where its model is given (JudgeOptions checks the flags).
    """
    if rule is None:
        return {}
    detectors: dict[str, Detector] = {LINGUA: detect_language}
    if mediapipe_model is not None:
        detectors[MEDIAPIPE] = mediapipe_detector(mediapipe_model)
    return {chosen: detectors[chosen], **detectors}


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
