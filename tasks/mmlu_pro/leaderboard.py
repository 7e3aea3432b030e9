"""es_mmlu_pro's prompt functions: lm-eval's own leaderboard_mmlu_pro utils, imported rather than
rewritten (the same bytes, at the same speed as lm-eval's config)."""

from lm_eval.tasks.leaderboard.mmlu_pro.utils import doc_to_choice, doc_to_text

__all__ = ["doc_to_choice", "doc_to_text"]
