"""Protocol flags: how a measured result's protocol differs from the paper's, in words."""

from __future__ import annotations

from typing import Any

from evalsuite.leaderboard.reference import UNKNOWN

# the protocol fields compared with the paper's, in the order the flags list them
FLAGGED_FIELDS = ("limit", "num_fewshot", "output", "metric", "aggregation", "chat_template", "judge")


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return " or ".join(_shown(v) for v in value)
    if value is True:
        return "on"
    if value is False:
        return "off"
    return "none" if value is None else str(value)


def _matches(measured: Any, paper: Any) -> bool:
    if isinstance(paper, list):
        return measured in paper
    return measured == paper


def protocol_differences(measured: dict, paper: dict) -> list[str]:
    """One phrase per flagged field whose measured value differs from the paper's; fields the
    report leaves undocumented ("unknown") are never flagged. A run with a limit always is."""
    flags: list[str] = []
    limit = measured.get("limit")
    if limit is not None:
        flags.append(f"run with --limit {limit} (a subset of the items): not comparable")
    for name in FLAGGED_FIELDS[1:]:
        expected = paper.get(name, UNKNOWN)
        if expected == UNKNOWN:
            continue
        if name not in measured:
            flags.append(f"{name.replace('_', ' ')} not recorded (paper: {_shown(expected)})")
            continue
        value = measured[name]
        if _matches(value, expected):
            continue
        if name == "num_fewshot":
            flags.append(f"{_shown(value)}-shot (paper: {_shown(expected)}-shot)")
        elif name == "chat_template":
            flags.append(f"chat template {_shown(value)} (paper: {_shown(expected)})")
        else:
            flags.append(f"{name.replace('_', ' ')} {_shown(value)} (paper: {_shown(expected)})")
    return flags


def protocol_summary(protocol: dict) -> str:
    """The protocol of a result in one short line (shots, output, metric, aggregation, ...)."""
    parts = [
        f"{_shown(protocol.get('num_fewshot'))}-shot",
        _shown(protocol.get("output")),
        f"metric {_shown(protocol.get('metric'))}",
        f"aggregation {_shown(protocol.get('aggregation'))}",
        f"chat template {_shown(protocol.get('chat_template'))}",
    ]
    if protocol.get("fewshot_as_multiturn"):
        parts.append("few-shot as multi-turn")
    if protocol.get("judge"):
        parts.append(f"judge {protocol['judge']}")
    if protocol.get("limit") is not None:
        parts.append(f"limit {protocol['limit']}")
    return ", ".join(parts)
