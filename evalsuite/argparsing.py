"""argparse as lm-eval and FastChat users expect it: no abbreviations, one-line errors (exit 2) with a
"did you mean", defaults in --help, and --output_path that refuses a file name."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path


def output_folder(value: str) -> Path:
    """--output_path is a results folder; a name ending in .json/.jsonl names a file (lm-eval users
    write `--output_path res.json`): one line saying so instead of a folder called res.json."""
    path = Path(value)
    if path.suffix.lower() in (".json", ".jsonl"):
        raise argparse.ArgumentTypeError(
            f"{value} names a file: --output_path is a results folder (results/<model>/<benchmark>.json "
            f"are written in it); pass a folder, e.g. --output_path {path.parent / path.stem}"
        )
    return path


class _HelpFormatter(argparse.HelpFormatter):
    """Help that shows each flag's default (unless its text already does, or there is none to show)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and action.option_strings
        if shown and "default" not in text and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class EvalsuiteParser(argparse.ArgumentParser):
    """argparse without abbreviations (`--judge_mode` is not `--judge_model`), with the defaults in
    --help, and whose errors are one line and exit 2 (as every other bad input)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        """Print `error: PROG: MESSAGE (see PROG --help)`, with a "did you mean" for a misspelt flag, and exit 2."""
        if message.startswith("unrecognized arguments:"):
            known = self._all_flags()
            for word in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(word.split("=")[0], known, n=1) if word.startswith("--") else []
                if close:
                    message += f"; did you mean {close[0]}?"
                    break
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    def _all_flags(self) -> list[str]:
        """Every option string of this parser and of its subcommands."""
        flags = []
        for action in self._actions:
            flags += [f for f in action.option_strings if f.startswith("--")]
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    flags += [f for a in sub._actions for f in a.option_strings if f.startswith("--")]
        return sorted(set(flags))
