"""Benchmark declarations: everything the harness knows about a benchmark, read from its data file.

Each benchmark is one `<name>.benchmark.yaml`: beside its lm-eval task YAMLs (under tasks/), or, for
a judged benchmark, in its own folder judges/<name>/ with the whole judging protocol in its `judge:`
block. They are discovered by scanning the declaration roots (tasks/, judges/, then every folder of
--include_path or $EVALSUITE_INCLUDE_PATH), as lm-eval finds task YAMLs, so adding one needs no
registration. The schema, with a complete example, is in docs/architecture.md. A declaration may
`include:` another file of shared settings (relative path), as lm-eval's YAMLs do; its own keys win,
nested mappings merged. Code a benchmark needs (a data loader, a judged format of its own) is a
Python file beside the declaration, named by it and imported by `import_beside`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import yaml

from evalsuite import REPO_ROOT
from evalsuite.errors import BadInputError

TASKS_DIR = REPO_ROOT / "tasks"
JUDGES_DIR = REPO_ROOT / "judges"
DECLARATION_ROOTS = (TASKS_DIR, JUDGES_DIR)  # the repository's own; --include_path adds more
INCLUDE_PATH_ENV = "EVALSUITE_INCLUDE_PATH"  # extra declaration roots, os.pathsep-separated
DECLARATION_SUFFIX = ".benchmark.yaml"
ENGINES = ("lm_eval", "judge")
OUTPUTS = ("loglikelihood", "generate", "two_turn_chat")
AGGREGATIONS = ("micro", "macro", "per_task", "judge_mean")
LOCAL_FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
CHANCE_FROM_CHOICES = "choices"  # score.chance derived per subtask from its items' number of choices
FEATURE_TYPES = ("string", "int64", "float64", "bool", "list[string]", "list[int64]", "json")
# json: a value of varying shape (e.g. per-row keyword arguments), kept as its JSON text


class _TaskYamlLoader(yaml.SafeLoader):
    """Safe YAML loader that accepts lm-eval's `!function` tag (as a plain string)."""


_TaskYamlLoader.add_constructor(
    "!function", lambda loader, node: f"!function {loader.construct_scalar(node)}"
)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file, turning every parse error into one clear BadInputError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInputError(f"cannot read {what} {path}: {getattr(err, 'strerror', None) or err}") from err
    try:
        return yaml.load(text, Loader=_TaskYamlLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise BadInputError(f"malformed YAML in {path}{where}: {problem}") from err


def _placeholders_shown(text: str) -> str:
    """A per-task template for people: `bbh/{{ subtask }}.json` -> `bbh/<subtask>.json`."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"<\1>", text)


@dataclass(frozen=True)
class LocalLayout:
    """How the upstream files of a dataset lie under --data_dir and become the Hub's columns."""

    format: str  # jsonl | json | csv | tsv | parquet (a .gz file is decompressed)
    splits: dict[str, tuple[str, ...]]  # split -> files under the data dir (glob patterns allowed)
    features: dict[str, Any]  # dataset column -> type (FEATURE_TYPES, or {field: type} for a struct), Hub order
    columns: dict[str, str] = field(default_factory=dict)  # dataset column -> source column
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> {source value: value}
    records_key: str | None = None  # json: the key holding the list of rows ({"examples": [...]})
    one_per_file: bool = False  # json: each file holds one row (an object), e.g. a tree of problem files
    quoting: bool = True  # csv/tsv: False reads quote characters literally (csv.QUOTE_NONE)
    checks: dict[str, str] = field(default_factory=dict)  # Jinja expression over a row -> message if false
    select: dict[str, str] = field(default_factory=dict)  # split -> Jinja expression over a row: the split's rows
    # of its files (one upstream file holding several splits, e.g. by id range)

    def describe(self) -> str:
        """The layout in one line: the files of every split (`{{x}}` shown as `<x>`)."""
        files = sorted({f for paths in self.splits.values() for f in paths})
        return _placeholders_shown(", ".join(files))


@dataclass(frozen=True)
class DataSource:
    """Where a benchmark's data comes from: the Hub by default, the upstream layout under --data_dir."""

    hub: str | None = None  # Hugging Face dataset id
    hub_name: str | None = None  # its config
    revision: str | None = None  # pinned commit of the Hub dataset
    package_file: str | None = None  # a file shipped inside an installed package: "pkg:rel/path"
    local: LocalLayout | None = None
    local_description: str | None = None  # layout in words, for a bespoke loader
    loader: str | None = None  # "file.py:function" beside the declaration, when a layout needs code
    loader_reason: str | None = None  # one line: why the generic loader cannot describe it
    counts: dict[str, int] = field(default_factory=dict)  # official rows per split (checked on real data)
    # split -> item ids (the declaration's `items.id`) that open that split, in this order, whatever
    # the source's row order (few-shot examples taken by position: the same from every copy)
    leading: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def for_task(self, variables: dict[str, Any]) -> "DataSource":
        """This source for one lm-eval task: `{{...}}` in the split files and the Hub config rendered
        with the task's dataset_kwargs (e.g. `data/{{subtask}}.json`, one file per subtask)."""
        if self.local is None and self.hub_name is None:
            return self

        def render(text: str) -> str:
            if "{{" not in text:
                return text
            try:
                return _template(text).render(**variables)
            except jinja2.TemplateError as err:
                raise BadInputError(f"cannot render {text!r} with the task's dataset_kwargs ({err})") from err

        local = self.local
        if local is not None:
            splits = {split: tuple(render(f) for f in files) for split, files in local.splits.items()}
            local = replace(local, splits=splits)
        hub_name = render(self.hub_name) if self.hub_name else None
        return replace(self, local=local, hub_name=hub_name)

    @property
    def local_layout(self) -> str:
        """The local layout in words, for messages and the `tasks` listing."""
        if self.local is not None:
            return self.local.describe()
        return self.local_description or "(no local layout)"

    @property
    def default_source(self) -> str:
        """The default (non-local) source in words."""
        if self.hub:
            name = f" ({_placeholders_shown(self.hub_name)})" if self.hub_name else ""
            return f"HF {self.hub}{name}"
        if self.package_file:
            return f"package {self.package_file}"
        return "local files only"


@dataclass(frozen=True)
class Score:
    """How a benchmark's items become its score."""

    metric: str  # the lm-eval metric (or judge_score)
    aggregation: str  # micro | macro | per_task | judge_mean
    scale: float  # score = metric value x scale
    filter: str = "none"  # the lm-eval filter whose value is the headline
    decimals: int = 1  # digits shown
    # random-guess level, for the Open LLM Leaderboard 2 normalization max(0, (value - chance) / (1 - chance)):
    # a number (of the headline), {subtask: number} or "choices" (per subtask, 1 / its items' choices),
    # the per-subtask forms normalizing each subtask and averaging them (see evalsuite/runner/normalization.py)
    chance: float | dict[str, float] | str | None = None
    also: tuple[str, ...] = ()  # other metrics shown beside the headline (e.g. exact_match,strict-match)
    mean_with: tuple[str, ...] = ()  # metrics averaged with `metric` into the score (e.g. prompt- and instruction-level accuracy)

    @property
    def per_subtask_chance(self) -> bool:
        """True when each subtask is normalized by its own chance level, then averaged."""
        return isinstance(self.chance, (dict, str))


@dataclass(frozen=True)
class ExternalCompletions:
    """How `run_eval.py score` reads completions generated elsewhere."""

    id_field: str  # the benchmark's own item id in a row (task_id, key, question_id)
    text_field: str = "completion"
    repeats: bool = False  # rows may repeat an item (n samples each, pass@k: human-eval's samples format),
    # scored by the sandbox scorer directly; otherwise one row per item, replayed through the lm-eval task


@dataclass(frozen=True)
class LanguageRule:
    """A penalty for answers not in `language`: the turn scores sqrt(score), except `exempt_questions`."""

    language: str
    penalty: str
    exempt_questions: frozenset[int]


@dataclass(frozen=True)
class JudgeDefinition:
    """A judged benchmark's protocol: the `judge:` block of its declaration.

    `format` names a generic format of evalsuite/judging/formats/, or the `FORMAT` of `format_module`
    (a Python file beside the declaration, for a benchmark with a format of its own). `format_settings`
    are the declared `judge.settings` keys beyond the common ones; `settings` is what the format's
    `parse_settings` made of them (None until evalsuite.judging.definitions.load_definition fills it).
    """

    name: str
    format: str
    source: str
    files: dict[str, dict[str, Any]]  # key -> {local: path under --data_dir, url | hub, optional}
    max_new_tokens: int
    greedy_below: float
    default_temperature: float
    temperatures: dict[str, float]
    default_judge_model: str
    judge_temperature: float
    judge_max_tokens: int
    embedded: dict[str, Any]
    language_rule: LanguageRule | None
    format_module: Path | None = None
    format_settings: dict[str, Any] = field(default_factory=dict)
    settings: Any = None

    def temperature_for(self, category: str) -> float:
        """The sampling temperature of a question's category (FastChat's per-category table)."""
        return float(self.temperatures.get(category, self.default_temperature))

    def describe_files(self) -> str:
        """The --data_dir layout of the data files in one line."""
        return ", ".join(str(spec["local"]) for spec in self.files.values())


@dataclass(frozen=True)
class Benchmark:
    """One declared benchmark and the protocol it follows."""

    name: str
    title: str
    engine: str
    output: str
    num_fewshot: int
    score: Score
    data: DataSource
    path: Path
    lm_eval_task: str | None = None
    judge: JudgeDefinition | None = None  # a judged benchmark's protocol (its `judge:` block)
    item_id: str = "{{doc_id}}"  # Jinja over the doc, doc_id and the task's dataset_kwargs
    item_group: str | None = None  # per-item breakdown (subject, category), same variables
    breakdown: str | None = None  # what the groups are called ("subject", "category")
    categories: Path | None = None  # YAML mapping each group to its category (KMMLU subject -> STEM, ...)
    part_of: tuple[str, ...] = ()  # names that select several benchmarks at once (a family)
    suites: tuple[str, ...] = ()
    demo_limit: int = 5
    executes_code: bool = False
    external: ExternalCompletions | None = None
    # settings the benchmark's own code fixes (e.g. a library's seed), recorded in each result's protocol
    fixed_protocol: dict[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        """The metric as lm-eval names it with a non-default filter (`exact_match,flexible-extract`)."""
        return self.score.metric if self.score.filter == "none" else f"{self.score.metric},{self.score.filter}"

    def render_item_field(self, template: str, context: dict[str, Any]) -> str:
        """An item id or group rendered from its template (strict: a missing field is an error)."""
        try:
            return _template(template).render(**context)
        except jinja2.TemplateError as err:
            raise BadInputError(f"{self.path}: cannot render {template!r} for an item ({err})") from err


@lru_cache(maxsize=256)
def _template(source: str) -> jinja2.Template:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(source)


_TOP_KEYS = {
    "name", "title", "engine", "output", "num_fewshot", "lm_eval_task", "judge", "data", "score",
    "items", "part_of", "suites", "demo", "executes_code", "external", "include", "protocol",
}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_declaration(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    raw = read_yaml(path, "benchmark declaration")
    if not isinstance(raw, dict):
        raise BadInputError(f"{path}: a benchmark declaration must be a mapping")
    include = raw.pop("include", None)
    if include is None:
        return raw
    base_path = (path.parent / str(include)).resolve()
    if base_path in seen:
        raise BadInputError(f"{path}: include cycle through {base_path}")
    return _merge(_raw_declaration(base_path, seen + (path.resolve(),)), raw)


def _mapping(raw: Any, path: Path, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadInputError(f"{path}: '{where}' must be a mapping")
    return raw


def _only(raw: dict, allowed: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BadInputError(f"{path}: unknown key(s) {', '.join(unknown)} in '{where}'")


def _choice(value: Any, allowed: tuple[str, ...], path: Path, where: str) -> str:
    if value not in allowed:
        raise BadInputError(f"{path}: {where} is {value!r}, expected one of {', '.join(allowed)}")
    return str(value)


def _local_layout(raw: dict, path: Path) -> LocalLayout:
    _only(raw, {"format", "splits", "features", "columns", "labels", "records_key", "one_per_file", "quoting", "checks",
                "select"}, path, "data.local")
    splits = _mapping(raw.get("splits"), path, "data.local.splits")
    if not splits:
        raise BadInputError(f"{path}: data.local needs 'splits' (split -> file(s))")
    features = _mapping(raw.get("features"), path, "data.local.features")
    if not features:
        raise BadInputError(f"{path}: data.local needs 'features' (column -> type)")
    for column, kind in features.items():
        for field_name, field_kind in (kind.items() if isinstance(kind, dict) else [(None, kind)]):
            where = f"data.local.features.{column}" + (f".{field_name}" if field_name else "")
            _choice(field_kind, FEATURE_TYPES, path, where)
    labels = _mapping(raw.get("labels"), path, "data.local.labels")
    return LocalLayout(
        format=_choice(raw.get("format"), LOCAL_FORMATS, path, "data.local.format"),
        splits={str(s): tuple([f] if isinstance(f, str) else [str(x) for x in f]) for s, f in splits.items()},
        features={str(c): {str(f): str(t) for f, t in k.items()} if isinstance(k, dict) else str(k)
                  for c, k in features.items()},
        columns={str(k): str(v) for k, v in _mapping(raw.get("columns"), path, "data.local.columns").items()},
        labels={str(c): {str(k): v for k, v in _mapping(m, path, f"data.local.labels.{c}").items()} for c, m in labels.items()},
        records_key=raw.get("records_key"),
        one_per_file=bool(raw.get("one_per_file", False)),
        quoting=bool(raw.get("quoting", True)),
        checks={str(k): str(v) for k, v in _mapping(raw.get("checks"), path, "data.local.checks").items()},
        select=_selections(raw.get("select"), splits, path),
    )


def _selections(raw: Any, splits: dict, path: Path) -> dict[str, str]:
    """data.local.select: split -> a Jinja expression that compiles, for declared splits only."""
    selections = {str(k): str(v) for k, v in _mapping(raw, path, "data.local.select").items()}
    for split, expression in selections.items():
        if split not in splits:
            raise BadInputError(f"{path}: data.local.select names split {split!r}, which data.local.splits lacks")
        try:
            jinja2.Environment().compile_expression(expression)
        except jinja2.TemplateError as err:
            raise BadInputError(f"{path}: data.local.select.{split} is not a valid expression ({err})") from None
    return selections


def _ids(raw: Any, path: Path, where: str) -> tuple[str, ...]:
    """A non-empty list of distinct item ids (numbers read as their text)."""
    if not isinstance(raw, list) or not raw:
        raise BadInputError(f"{path}: {where} must be a non-empty list of item ids")
    ids = tuple(str(value) for value in raw)
    if len(set(ids)) != len(ids):
        raise BadInputError(f"{path}: {where} names an item twice")
    return ids


def _data_source(raw: dict, path: Path) -> DataSource:
    _only(raw, {"hub", "hub_name", "revision", "package_file", "local", "local_description", "loader",
                "loader_reason", "counts", "leading"}, path, "data")
    local = _mapping(raw.get("local"), path, "data.local")
    source = DataSource(
        hub=raw.get("hub"),
        hub_name=raw.get("hub_name"),
        revision=raw.get("revision"),
        package_file=raw.get("package_file"),
        local=_local_layout(local, path) if local else None,
        local_description=raw.get("local_description"),
        loader=raw.get("loader"),
        loader_reason=raw.get("loader_reason"),
        counts={str(k): int(v) for k, v in _mapping(raw.get("counts"), path, "data.counts").items()},
        leading={str(split): _ids(ids, path, f"data.leading.{split}")
                 for split, ids in _mapping(raw.get("leading"), path, "data.leading").items()},
    )
    if source.loader and not source.loader_reason:
        raise BadInputError(f"{path}: a bespoke data.loader needs a one-line data.loader_reason")
    return source


def _score(raw: dict, path: Path) -> Score:
    _only(raw, {"metric", "filter", "aggregation", "scale", "decimals", "chance", "also", "mean_with"}, path, "score")
    try:
        return Score(
            metric=str(raw["metric"]),
            aggregation=_choice(raw.get("aggregation"), AGGREGATIONS, path, "score.aggregation"),
            scale=float(raw["scale"]),
            filter=str(raw.get("filter", "none")),
            decimals=int(raw.get("decimals", 1)),
            chance=_chance(raw.get("chance"), path),
            also=tuple(str(m) for m in raw.get("also") or ()),
            mean_with=tuple(str(m) for m in raw.get("mean_with") or ()),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInputError(f"{path}: score needs metric, aggregation and a numeric scale ({err})") from err


def _chance_level(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise BadInputError(f"{path}: {where} must be a number in [0, 1), got {value!r}")
    return float(value)


def _chance(raw: Any, path: Path) -> float | dict[str, float] | str | None:
    """score.chance: None, a number, {subtask: number}, or CHANCE_FROM_CHOICES."""
    if raw is None:
        return None
    if raw == CHANCE_FROM_CHOICES:
        return CHANCE_FROM_CHOICES
    if isinstance(raw, dict):
        if not raw:
            raise BadInputError(f"{path}: score.chance must not be an empty mapping")
        return {str(k): _chance_level(v, path, f"score.chance.{k}") for k, v in raw.items()}
    if isinstance(raw, str):
        raise BadInputError(f"{path}: score.chance is {raw!r}, expected a number, a mapping or '{CHANCE_FROM_CHOICES}'")
    return _chance_level(raw, path, "score.chance")


JUDGE_KEYS = {"format", "format_module", "data", "generation", "settings", "language_rule"}
# The keys of `judge.settings` every format shares; the rest are the format's own settings.
COMMON_JUDGE_KEYS = ("default_model", "temperature", "max_tokens", "embedded")
LANGUAGE_PENALTIES = ("sqrt",)


def _judge_files(raw: dict, path: Path) -> dict[str, dict[str, Any]]:
    """judge.data.files: key -> {local, url | hub, optional}; a file needs its --data_dir path."""
    files = {}
    for key, spec in _mapping(raw, path, "judge.data.files").items():
        spec = _mapping(spec, path, f"judge.data.files.{key}")
        _only(spec, {"local", "url", "hub", "optional"}, path, f"judge.data.files.{key}")
        if not isinstance(spec.get("local"), str):
            raise BadInputError(f"{path}: judge.data.files.{key} needs 'local' (its path under --data_dir)")
        if spec.get("hub") is not None:
            hub = _mapping(spec["hub"], path, f"judge.data.files.{key}.hub")
            _only(hub, {"repo", "config", "split", "revision"}, path, f"judge.data.files.{key}.hub")
            if not all(hub.get(k) for k in ("repo", "split", "revision")):
                raise BadInputError(f"{path}: judge.data.files.{key}.hub needs repo, split and a pinned revision")
        files[str(key)] = dict(spec)
    if not files:
        raise BadInputError(f"{path}: judge.data.files names no file")
    return files


def _language_rule(raw: Any, path: Path) -> LanguageRule | None:
    if not raw:
        return None
    rule = _mapping(raw, path, "judge.language_rule")
    _only(rule, {"language", "penalty", "exempt_questions"}, path, "judge.language_rule")
    return LanguageRule(
        language=str(rule["language"]),
        penalty=_choice(rule.get("penalty"), LANGUAGE_PENALTIES, path, "judge.language_rule.penalty"),
        exempt_questions=frozenset(int(q) for q in rule.get("exempt_questions") or []),
    )


def _judge(raw: dict, name: str, path: Path) -> JudgeDefinition:
    """The `judge:` block: format (and its module), data files, answer generation, the judge's
    settings and the language rule; the format's own settings are kept for the format to parse."""
    _only(raw, JUDGE_KEYS, path, "judge")
    data = _mapping(raw.get("data"), path, "judge.data")
    _only(data, {"source", "files"}, path, "judge.data")
    generation = _mapping(raw.get("generation"), path, "judge.generation")
    _only(generation, {"max_new_tokens", "greedy_below", "default_temperature", "temperatures"}, path,
          "judge.generation")
    settings = _mapping(raw.get("settings"), path, "judge.settings")
    module = raw.get("format_module")
    if module is not None and not (isinstance(module, str) and module.endswith(".py")):
        raise BadInputError(f"{path}: judge.format_module must name a .py file beside the declaration")
    try:
        return JudgeDefinition(
            name=name,
            format=str(raw["format"]),
            source=str(data["source"]),
            files=_judge_files(data.get("files"), path),
            max_new_tokens=int(generation["max_new_tokens"]),
            greedy_below=float(generation["greedy_below"]),
            default_temperature=float(generation["default_temperature"]),
            temperatures={str(k): float(v) for k, v in
                          _mapping(generation.get("temperatures"), path, "judge.generation.temperatures").items()},
            default_judge_model=str(settings["default_model"]),
            judge_temperature=float(settings["temperature"]),
            judge_max_tokens=int(settings["max_tokens"]),
            embedded=dict(_mapping(settings.get("embedded"), path, "judge.settings.embedded")),
            language_rule=_language_rule(raw.get("language_rule"), path),
            format_module=(path.parent / module).resolve() if module else None,
            format_settings={k: v for k, v in settings.items() if k not in COMMON_JUDGE_KEYS},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInputError(f"{path}: incomplete judge block ({type(err).__name__}: {err})") from err


def parse_declaration(path: Path) -> Benchmark:
    """One `*.benchmark.yaml` as a Benchmark; any problem is a BadInputError naming the file."""
    raw = _raw_declaration(path)
    _only(raw, _TOP_KEYS, path, "top level")
    name = raw.get("name")
    expected = path.name[: -len(DECLARATION_SUFFIX)]
    if name != expected:
        raise BadInputError(f"{path}: name is {name!r}, expected {expected!r} (the file's name)")
    engine = _choice(raw.get("engine"), ENGINES, path, "engine")
    items = _mapping(raw.get("items"), path, "items")
    _only(items, {"id", "group", "breakdown", "categories"}, path, "items")
    demo = _mapping(raw.get("demo"), path, "demo")
    _only(demo, {"limit"}, path, "demo")
    external = _mapping(raw.get("external"), path, "external")
    _only(external, {"id_field", "text_field", "repeats"}, path, "external")
    lm_eval_task = raw.get("lm_eval_task")
    judge = raw.get("judge")
    if engine == "lm_eval" and not lm_eval_task:
        raise BadInputError(f"{path}: an lm_eval benchmark needs lm_eval_task")
    if engine == "judge" and not judge:
        raise BadInputError(f"{path}: a judge benchmark needs a judge block")
    if engine != "judge" and judge:
        raise BadInputError(f"{path}: only a judge benchmark has a judge block")
    if judge and raw.get("data"):
        raise BadInputError(f"{path}: a judge benchmark declares its data files in judge.data, not data")
    judged = _judge(_mapping(judge, path, "judge"), str(name), path) if judge else None
    data = _data_source(_mapping(raw.get("data"), path, "data"), path)
    if judged is not None:
        data = DataSource(local_description=judged.describe_files())
    try:
        return Benchmark(
            name=str(name),
            title=str(raw["title"]),
            engine=engine,
            output=_choice(raw.get("output"), OUTPUTS, path, "output"),
            num_fewshot=int(raw.get("num_fewshot", 0)),
            score=_score(_mapping(raw.get("score"), path, "score"), path),
            data=data,
            path=path,
            lm_eval_task=lm_eval_task,
            judge=judged,
            item_id=str(items.get("id", "{{doc_id}}")),
            item_group=items.get("group"),
            breakdown=items.get("breakdown"),
            categories=(path.parent / str(items["categories"])).resolve() if items.get("categories") else None,
            part_of=tuple(str(p) for p in raw.get("part_of") or ()),
            suites=tuple(str(s) for s in raw.get("suites") or ()),
            demo_limit=int(demo.get("limit", 5)),
            executes_code=bool(raw.get("executes_code", False)),
            external=ExternalCompletions(
                id_field=str(external["id_field"]), text_field=str(external.get("text_field", "completion")),
                repeats=external.get("repeats", False) is True,
            ) if external else None,
            fixed_protocol=dict(_mapping(raw.get("protocol"), path, "protocol")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInputError(f"{path}: incomplete benchmark declaration ({err})") from err


def declaration_roots() -> tuple[Path, ...]:
    """The folders scanned for declarations: the repository's (tasks/, judges/), then every folder of
    $EVALSUITE_INCLUDE_PATH (os.pathsep-separated; `--include_path DIR` adds to it), as lm-eval's
    --include_path adds task folders. A folder that does not exist is a BadInputError."""
    extra = []
    for entry in os.environ.get(INCLUDE_PATH_ENV, "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser().resolve()
        if not folder.is_dir():
            raise BadInputError(f"include path {folder} is not a folder ({INCLUDE_PATH_ENV} or --include_path)")
        if folder not in extra and folder not in DECLARATION_ROOTS:
            extra.append(folder)
    return DECLARATION_ROOTS + tuple(extra)


def add_include_path(folders: list[str] | None) -> None:
    """--include_path: declaration folders scanned after the repository's own (for this process and the
    processes it starts, through $EVALSUITE_INCLUDE_PATH)."""
    entries = [e for e in os.environ.get(INCLUDE_PATH_ENV, "").split(os.pathsep) if e.strip()]
    entries += [str(Path(folder).expanduser().resolve()) for folder in folders or ()]
    if entries:
        os.environ[INCLUDE_PATH_ENV] = os.pathsep.join(dict.fromkeys(entries))
    declaration_roots()  # a missing folder is reported now, before any work


def declaration_files(roots: tuple[Path, ...] | None = None) -> list[Path]:
    """Every `*.benchmark.yaml` under the declaration roots: root by root, sorted by path within each."""
    roots = declaration_roots() if roots is None else roots
    return [p for root in roots if root.is_dir() for p in sorted(root.rglob(f"*{DECLARATION_SUFFIX}"))]


def discover(roots: tuple[Path, ...] | None = None) -> dict[str, Benchmark]:
    """All declared benchmarks by name, in discovery order (the roots default to declaration_roots())."""
    return _discover(declaration_roots() if roots is None else roots)


@lru_cache(maxsize=4)
def _discover(roots: tuple[Path, ...]) -> dict[str, Benchmark]:
    benchmarks: dict[str, Benchmark] = {}
    for path in declaration_files(roots):
        benchmark = parse_declaration(path)
        if benchmark.name in benchmarks:
            raise BadInputError(f"benchmark {benchmark.name} is declared twice ({benchmarks[benchmark.name].path}, {path})")
        benchmarks[benchmark.name] = benchmark
    collisions = set(benchmarks) & set(_groups(benchmarks.values()))
    if collisions:
        raise BadInputError(f"part_of names collide with benchmark names: {', '.join(sorted(collisions))}")
    return benchmarks


def _groups(benchmarks: Any) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for benchmark in benchmarks:
        for group in benchmark.part_of:
            groups.setdefault(group, []).append(benchmark.name)
    return groups


def benchmark_groups() -> dict[str, list[str]]:
    """Names that select several benchmarks (a family -> its members), from `part_of`."""
    return _groups(discover().values())


def suites() -> dict[str, list[str]]:
    """Suite name -> its benchmarks, from each declaration's `suites`."""
    found: dict[str, list[str]] = {}
    for benchmark in discover().values():
        for suite in benchmark.suites:
            found.setdefault(suite, []).append(benchmark.name)
    return found


def _canonical(name: str, known: list[str], what: str) -> str:
    """`name` as declared among `known` (case-insensitive); else a BadInputError with a "did you mean"."""
    if name in known:
        return name
    by_lower = {k.lower(): k for k in known}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        suggestion = " or ".join(by_lower[c] for c in close)
        raise BadInputError(f"unknown {what} '{name}': did you mean {suggestion}? (see `run_eval.py tasks`)")
    raise BadInputError(f"unknown {what} '{name}' (known: {', '.join(sorted(known))})")


def get_benchmark(name: str) -> Benchmark:
    """The declared benchmark `name` (case-insensitive); an unknown one is a BadInputError suggesting
    the closest names, or listing the known ones."""
    benchmarks = discover()
    if name not in benchmarks:
        name = _canonical(name, sorted(benchmarks) + sorted(benchmark_groups()), "task")
        if name not in benchmarks:
            raise BadInputError(f"'{name}' is a group of benchmarks ({', '.join(benchmark_groups()[name])})")
    return benchmarks[name]


def resolve_benchmarks(tasks: str | None, suite: str | None) -> list[Benchmark]:
    """Turn --tasks (comma list, group names allowed) and/or --suite into declared benchmarks;
    names are case-insensitive, and a misspelt one gets a "did you mean"."""
    names: list[str] = []
    if suite:
        known_suites = suites()
        names += known_suites[_canonical(suite, sorted(known_suites), "suite")]
    if tasks:
        names += [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise BadInputError("no benchmark given: pass --tasks a,b or --suite paper")
    groups = benchmark_groups()
    declared = sorted(discover())
    resolved: list[str] = []
    for name in names:
        name = _canonical(name, declared + sorted(groups), "task")
        for item in groups.get(name, [name]):
            if item not in resolved:
                resolved.append(item)
    return [get_benchmark(n) for n in resolved]


def task_dataset_kwargs(name: str, folder: Path = TASKS_DIR) -> list[dict]:
    """The dataset_kwargs of every task YAML reading benchmark `name` (one per subtask or subject),
    or [{"benchmark": name}] when none names it."""
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        config = read_yaml(path, "task config")
        kwargs = config.get("dataset_kwargs") if isinstance(config, dict) else None
        if isinstance(kwargs, dict) and kwargs.get("benchmark") == name:
            found.append(kwargs)
    return found or [{"benchmark": name}]


def check_task_yamls(folder: Path = TASKS_DIR) -> None:
    """Parse every YAML under the task folder; lm-eval itself skips broken ones silently."""
    if not folder.is_dir():
        raise BadInputError(f"task folder {folder} is missing")
    for path in sorted(folder.rglob("*.yaml")):
        config = read_yaml(path, "task config")
        if not isinstance(config, dict):
            raise BadInputError(f"malformed task config {path}: expected a mapping")


_IMPORTED: dict[Path, Any] = {}


def import_file(path: Path, what: str) -> ModuleType:
    """The Python file at `path` (benchmark code beside a declaration), imported once per process under
    a name of its own (its dataclasses and pickles resolve); any failure, including an exception the
    file raises while it runs, is a one-line BadInputError naming `what`."""
    path = Path(path).resolve()
    module = _IMPORTED.get(path)
    if module is not None:
        return module
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:8]  # two roots, one folder name
    unique = re.sub(r"\W", "_", f"{path.parent.name}_{path.stem}_{digest}")
    spec = importlib.util.spec_from_file_location(f"evalsuite_declared_{unique}", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise BadInputError(f"cannot import {what} {path} (no such file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001  (any error of the benchmark's code: one line, exit 2)
        sys.modules.pop(spec.name, None)
        raise BadInputError(f"cannot import {what} {path} ({type(err).__name__}: {err})") from err
    _IMPORTED[path] = module
    return module


def import_beside(reference: str, folder: Path, what: str) -> Any:
    """The object `file.py:name` names: a Python file beside a declaration (benchmark code stays in
    its folder, as lm-eval's `!function` does; `import_file`), or an importable `module:name`; any
    failure is a BadInputError naming `what`."""
    module_name, _, name = reference.partition(":")
    if module_name.endswith(".py"):
        module = import_file(folder / module_name, what)
    else:
        try:
            module = importlib.import_module(module_name)
        except (ImportError, SyntaxError) as err:
            raise BadInputError(f"cannot import {what} {reference} ({type(err).__name__}: {err})") from err
    try:
        return getattr(module, name)
    except AttributeError as err:
        raise BadInputError(f"cannot import {what} {reference} ({type(err).__name__}: {err})") from err
