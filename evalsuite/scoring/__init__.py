"""Scoring that needs more than a string match: HumanEval runs completions in the sandbox."""
