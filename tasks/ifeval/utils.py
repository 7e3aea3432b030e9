"""IFEval scored by lm-eval's leaderboard_ifeval code, offline.

The checker splits sentences with nltk's punkt_tab model, which lm-eval's module downloads when
nltk cannot find it; the English model ships beside this file (nltk_data/, see its README), so its
folder joins nltk's search path before that module is imported.
"""

import json
from pathlib import Path
from typing import Any

import nltk

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
