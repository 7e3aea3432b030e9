"""lm-eval's leaderboard_math_hard functions, named from this folder (task YAMLs resolve `!function` here)."""

from lm_eval.tasks.leaderboard.math.utils import doc_to_text, list_fewshot_samples, process_docs, process_results

__all__ = ["doc_to_text", "list_fewshot_samples", "process_docs", "process_results"]
