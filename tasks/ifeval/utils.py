"""IFEval scored by lm-eval's leaderboard_ifeval code, offline.

The checker splits sentences with nltk's punkt_tab model, which lm-eval's module downloads when
nltk cannot find it; the English model ships beside this file (nltk_data/, see its README), so its
folder joins nltk's search path before that module is imported.

The checker asks `langdetect` for a response's language (language:response_language and
change_case:english_capital). langdetect draws random n-grams, so unseeded the same response can get
another language, and another verdict, on another run; its factory seed is fixed here
(LANGDETECT_SEED, recorded in each result's protocol by ifeval.benchmark.yaml), which makes every
detection, and so every verdict, a function of the response alone.
"""

import json
from pathlib import Path
from typing import Any

import nltk
from langdetect import DetectorFactory

LANGDETECT_SEED = 0
DetectorFactory.seed = LANGDETECT_SEED

NLTK_DATA = Path(__file__).resolve().parent / "nltk_data"
if str(NLTK_DATA) not in nltk.data.path:
    nltk.data.path.insert(0, str(NLTK_DATA))

from lm_eval.tasks.leaderboard.ifeval import utils as leaderboard_ifeval  # noqa: E402 (after the path)

agg_inst_level_acc = leaderboard_ifeval.agg_inst_level_acc


def process_results(doc: dict, results: list[str]) -> dict[str, Any]:
    """lm-eval's leaderboard_ifeval.process_results on the doc with its kwargs decoded (local data
    keeps each instruction's kwargs as JSON text; the Hub's copy holds them as records)."""
    kwargs = doc["kwargs"]
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    return leaderboard_ifeval.process_results({**doc, "kwargs": kwargs}, results)
