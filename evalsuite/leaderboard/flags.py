"""Protocol flags and notes: how a measured result's protocol differs from the report's, in words.
Settings the report states raise flags; settings inferred for it only give notes."""

from __future__ import annotations

from typing import Any

from evalsuite.leaderboard.reference import PROTOCOL_SETTINGS, ColumnProtocol


def judge_model(value: Any) -> Any:
    """The judge model of a recorded protocol: the `model` of a judge block, or the value itself."""
    if isinstance(value, dict):
        return value.get("model")
    return value


def shown(value: Any) -> str:
    """A setting in words: lists as alternatives, booleans as on/off, mappings as key=value pairs
    (never a Python repr)."""
    if isinstance(value, (list, tuple)):
        return " or ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={shown(v)}" for k, v in value.items())
    if value is True:
        return "on"
    if value is False:
        return "off"
    return "none" if value is None else str(value)


def _measured(protocol: dict, name: str) -> Any:
    value = protocol[name]
    return judge_model(value) if name == "judge" else value


def _matches(measured: Any, paper: Any) -> bool:
    if isinstance(paper, list):
        return measured in paper
    return measured == paper


def _phrase(name: str, value: Any, expected: Any, source: str) -> str:
    if name == "num_fewshot":
        return f"{shown(value)}-shot ({source}: {shown(expected)}-shot)"
    if name == "chat_template":
        return f"chat template {shown(value)} ({source}: {shown(expected)})"
    return f"{name.replace('_', ' ')} {shown(value)} ({source}: {shown(expected)})"


def _differences(measured: dict, settings: dict[str, Any], source: str) -> list[str]:
    phrases: list[str] = []
    for name in PROTOCOL_SETTINGS:
        if name not in settings:
            continue
        expected = settings[name]
        if name not in measured:
            phrases.append(f"{name.replace('_', ' ')} not recorded ({source}: {shown(expected)})")
        elif not _matches(_measured(measured, name), expected):
            phrases.append(_phrase(name, _measured(measured, name), expected, source))
    return phrases


def protocol_differences(measured: dict, paper: ColumnProtocol) -> list[str]:
    """One phrase per setting the report states and the run does not follow; a run with a
    limit is always flagged. Inferred and unknown settings are never flagged."""
    flags: list[str] = []
    limit = measured.get("limit")
    if limit is not None:
        flags.append(f"run with --limit {shown(limit)} (a subset of the items): not comparable")
    return flags + _differences(measured, paper.stated, "paper")


def inferred_differences(measured: dict, paper: ColumnProtocol) -> list[str]:
    """Differences from the settings inferred for the report (notes, not flags)."""
    return _differences(measured, paper.inferred, "inferred for the paper")


def inferred_summary(paper: ColumnProtocol) -> str:
    """The inferred settings in one line ('' when none)."""
    return "; ".join(f"{name.replace('_', ' ')} {shown(paper.inferred[name])}"
                     for name in PROTOCOL_SETTINGS if name in paper.inferred)


def stated_summary(paper: ColumnProtocol) -> str:
    """The stated settings in one line ('' when none)."""
    return "; ".join(f"{name.replace('_', ' ')} {shown(paper.stated[name])}"
                     for name in PROTOCOL_SETTINGS if name in paper.stated)


def protocol_summary(protocol: dict) -> str:
    """The protocol of a result in one short line (shots, output, metric, aggregation, ...)."""
    parts = [
        f"{shown(protocol.get('num_fewshot'))}-shot",
        shown(protocol.get("output")),
        f"metric {shown(protocol.get('metric'))}",
        f"aggregation {shown(protocol.get('aggregation'))}",
        f"chat template {shown(protocol.get('chat_template'))}",
    ]
    if protocol.get("fewshot_as_multiturn"):
        parts.append("few-shot as multi-turn")
    judge = judge_model(protocol.get("judge"))
    if judge:
        parts.append(f"judge {shown(judge)}")
    if protocol.get("limit") is not None:
        parts.append(f"limit {shown(protocol['limit'])}")
    return ", ".join(parts)
