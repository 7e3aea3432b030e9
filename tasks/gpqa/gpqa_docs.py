"""lm-eval's own leaderboard_gpqa doc processing (cleaned options shuffled into A-D), reused unchanged."""

from lm_eval.tasks.leaderboard.gpqa.utils import process_docs

__all__ = ["process_docs"]
