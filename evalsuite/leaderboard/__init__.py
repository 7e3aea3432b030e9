"""The leaderboard: reads result files only and writes tables shaped like the EXAONE 3.0 report's."""

from evalsuite.leaderboard.render import render_leaderboard

__all__ = ["render_leaderboard"]
