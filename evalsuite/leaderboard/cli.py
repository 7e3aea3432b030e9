"""The `leaderboard` subcommand: render the report's tables from result files."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from evalsuite.errors import BadInputError
from evalsuite.leaderboard.render import DEFAULT_FORMATS, FORMATS, parse_formats, render_leaderboard


def load_display_names(path: str | Path | None) -> dict[str, str] | None:
    """A YAML mapping {model name or results sub-folder: display name}; BadInputError if it is not one."""
    if path is None:
        return None
    path = Path(path)
    try:
        names = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise BadInputError(f"{path}: not a readable names file ({err})") from err
    if names is None:
        return {}
    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise BadInputError(f"{path}: names file must map model names to display names (strings)")
    return names


def run(args: argparse.Namespace) -> int:
    """Render the leaderboard and list what was written."""
    formats = parse_formats(args.format or list(DEFAULT_FORMATS))
    folders = [Path(folder) for folder in (args.results or ["results"])]
    written = render_leaderboard(folders, Path(args.out), formats, load_display_names(args.names))
    pages = [p for p in written if p.suffix in (".md", ".csv", ".json") or p == Path(args.out) / "index.html"]
    for path in pages:
        print(path)
    charts = sum(1 for p in written if p.suffix == ".png")
    site = sum(1 for p in written if Path(args.out) / "site" in p.parents)
    if charts:
        print(f"{charts} chart(s) under {Path(args.out) / 'charts'}")
    if site:
        print(f"{site} browser file(s) under {Path(args.out) / 'site'}")
    return 0


def add_parser(subparsers) -> None:
    """Register `leaderboard` on the CLI's subparsers (func=run)."""
    parser = subparsers.add_parser(
        "leaderboard",
        help="write the report's tables with measured results beside the paper's numbers",
        description="Read every result file under --results (one or more folders) plus the EXAONE 3.0 report's "
                    "numbers and write markdown tables (with charts), CSV, JSON or the static results browser "
                    "into --out.",
    )
    parser.add_argument("--results", nargs="+", action="extend", metavar="FOLDER",
                        help="folder(s) of result files, e.g. one per machine (default: results/); of several "
                             "results of one model and benchmark the most complete comparable one is shown")
    parser.add_argument("--out", default="leaderboards", help="output folder (default: leaderboards/)")
    parser.add_argument("--format", action="append", metavar="|".join(FORMATS),
                        help="output format, repeatable or a comma list (default: md,html; html is the "
                             "results browser: index.html + site/)")
    parser.add_argument("--names", metavar="FILE.yaml",
                        help="YAML mapping of model names (or results sub-folders) to display names")
    parser.set_defaults(func=run)
