"""lm-eval's own leaderboard_musr prompt (narrative, question, numbered choices), reused unchanged."""

from lm_eval.tasks.leaderboard.musr.utils import doc_to_text

__all__ = ["doc_to_text"]
