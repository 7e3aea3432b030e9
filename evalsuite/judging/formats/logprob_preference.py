"""Pairwise preference read from the judge's token log-probabilities, against reference outputs: the
annotator of AlpacaEval 2.0 (`weighted_alpaca_eval_gpt4_turbo` of the alpaca_eval package), as its code
runs it.

Per instruction (alpaca_eval: annotators/pairwise_evaluator.py, processors.RandomSwitchTwoColumnsProcessor,
utils.make_prompts, decoders/openai.py, utils.prompt_to_chatml, completion_parsers.logprob_parser):
- output_1 is the reference output, output_2 the model's; they swap places when
  `random.Random(<switch column> + instruction + str(seed)).choices([False, True])[0]` is True;
  identical outputs are not sent (preference 1.5);
- the ChatML template's placeholders are replaced one after the other, each at its first occurrence
  (not str.format), the prompt is stripped and split into messages at `<|im_start|>`, each content
  stripped;
- one judge token with its top log-probabilities; preference = 2 - p(m) / (p(m) + p(M)) from the
  exact tokens "m" and "M" (one missing from the top list counts as probability 0), then 3 - x if
  the outputs were swapped. No usable token, more than one generated token, or an unusable value is
  a parse failure (recorded, as upstream, and not re-asked unless --judge_reask says so); an
  endpoint that returns no log-probabilities fails the request (counted as `no_logprobs`).
Scoring: the win rate as alpaca_eval.metrics.get_winrate computes it, and the length-controlled win
rate by the package's own GLM code (metrics.glm_winrate.get_length_controlled_winrate), which needs
the Hub file df_gamed.csv: read from the data directory when it is there; without it (or without the
package) the result records the win rate as the score and says why the LC is missing.
Files: answers in the official model_outputs.json, judgments as the official annotations.json.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import re
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from evalsuite.data.local import read_json_records
from evalsuite.errors import BadInputError
from evalsuite.judging.client import STATUS_OK, JudgeCallFailed, JudgeClient, JudgeOutcome, JudgeTask, RenderedPrompt
from evalsuite.judging.core import STATUS_PARSE, JudgeFormat, JudgeRun, Judgment, Summary, reasks_of
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, check_questions
from evalsuite.results.store import model_slug, write_json_atomic

STATUS_IDENTICAL = "identical_outputs"
NO_LOGPROBS = "no_logprobs"
NO_LOGPROBS_DETAIL = ("the judge endpoint returned no token log-probabilities: this benchmark needs an "
                      "OpenAI-compatible endpoint that honours logprobs/top_logprobs on chat completions")
DRAW = 1.5
CHATML_START, CHATML_END = "<|im_start|>", "<|im_end|>"
PLACEHOLDER = re.compile(r"{([^ \s]+?)}")  # utils.make_prompts
PROMPT_FIELDS = ("instruction", "output_1", "output_2")


@dataclass(frozen=True)
class LogprobPreferenceSettings:
    """The `judge:` keys of a log-probability preference definition."""

    annotator: str                      # the annotator's name (annotations' "annotator", their folder)
    numerator_token: str                # the token saying output_1 is better ("m")
    denominator_tokens: tuple[str, ...]  # the tokens of the two outputs ("m", "M")
    top_logprobs: int
    top_p: float | None                 # sent as upstream sends it (1.0), None to leave it out
    switch_column: str                  # seed prefix of the output-order draw ("is_switched_outputs")
    seed: int                           # the annotator's seed (0)
    glm: str                            # the package's GLM name (length_controlled_v1)


def is_switched(instruction: str, settings: LogprobPreferenceSettings) -> bool:
    """Whether output_1 and output_2 swap places in the prompt (RandomSwitchTwoColumnsProcessor)."""
    seed = settings.switch_column + instruction + str(settings.seed)
    return random.Random(seed).choices([False, True], k=1)[0]


def render_template(template: str, fields: dict[str, str]) -> str:
    """utils.make_prompts (batch of one): each placeholder, in order of first appearance, replaced once at
    its first occurrence, so a placeholder written inside an earlier value is the one replaced."""
    prompt = template
    for key in dict.fromkeys(PLACEHOLDER.findall(template)):
        prompt = prompt.replace("{" + key + "}", str(fields[key]), 1)
    return prompt


def chatml_messages(prompt: str) -> list[dict[str, str]]:
    """utils.prompt_to_chatml of the stripped prompt: a message per `<|im_start|>`, its role the first line
    (`system name=x` -> role system, name x), its content up to `<|im_end|>`, both stripped. A part without
    a newline (possible only inside an answer; upstream raises IndexError) gets an empty content."""
    messages = []
    for part in prompt.strip().split(CHATML_START)[1:]:
        head, _, rest = part.partition("\n")
        role = head.strip()
        message = {"content": rest.split(CHATML_END, 1)[0].strip(), "role": role}
        if role.startswith("system") and role != "system":
            extra = {k: v for k, _, v in (item.partition("=") for item in role.split("system", 1)[-1].split(" ") if item)}
            message = {"content": message["content"], "role": "system", **extra}
        messages.append(message)
    return messages


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def preference_of(tokens: list[Any], settings: LogprobPreferenceSettings) -> tuple[float | None, str]:
    """(2 - p(numerator) / p(denominator tokens), "") from the log-probabilities of the one generated token,
    or (None, why) (completion_parsers.logprob_parser, is_binarize false; as there the last of repeated
    tokens in the top list counts)."""
    if len(tokens) != 1:
        return None, f"{len(tokens)} generated tokens with log-probabilities (one verdict token expected)"
    entry = tokens[0]
    top = entry.get("top_logprobs") if isinstance(entry, dict) else None
    if not isinstance(top, list):
        return None, "no top_logprobs for the generated token"
    wanted = set(settings.denominator_tokens) | {settings.numerator_token}
    table: dict[str, float] = {}
    for candidate in top:
        if not isinstance(candidate, dict) or not isinstance(candidate.get("token"), str) \
                or candidate["token"] not in wanted:  # a list or object as token: no candidate (unhashable)
            continue
        logprob = candidate.get("logprob")
        if isinstance(logprob, bool) or not isinstance(logprob, (int, float)):
            return None, f"non-numeric log-probability for token {candidate['token']!r}"
        table[candidate["token"]] = float(logprob)
    if not table:
        return None, f"none of {sorted(wanted)} among the top {len(top)} tokens"
    numerator = table.get(settings.numerator_token, -math.inf)
    denominator = _logsumexp([table.get(t, -math.inf) for t in settings.denominator_tokens])
    try:
        value = 2 - math.exp(numerator - denominator)
    except (OverflowError, ValueError):
        value = math.nan
    if not 1 <= value <= 2:  # NaN included
        return None, f"log-probabilities {table} give no preference in [1, 2]"
    return value, ""


@dataclass(frozen=True)
class PreferenceWinRate:
    """alpaca_eval.metrics.get_winrate of a list of preferences (None = no annotation)."""

    win_rate: float | None
    standard_error: float | None
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    discrete_win_rate: float | None


def win_rate_of(preferences: list[float | None]) -> PreferenceWinRate:
    """AbsoluteScoringRule.describe_head2head (+ ZeroOneScoringRule's win rate): draws counted before the
    preferences outside [1, 2] are dropped; win rate = 100 x mean(preference - 1)."""
    values = [p for p in preferences if p is not None and not math.isnan(p)]
    n_draws = sum(1 for p in values if p in (DRAW, 0))
    values = [DRAW if p == 0 else p for p in values]
    kept = [p - 1 for p in values if 1 <= p <= 2]
    discrete = [0.5 if p == 0.5 else float(round(p)) for p in kept]  # 1.5 -> draw, else round to 1 or 2
    n = len(kept)
    return PreferenceWinRate(
        win_rate=100 * statistics.fmean(kept) if n else None,
        standard_error=100 * statistics.stdev(kept) / math.sqrt(n) if n > 1 else None,
        n_wins=sum(1 for p in kept if p > 0.5),
        n_wins_base=sum(1 for p in kept if p < 0.5),
        n_draws=n_draws,
        n_total=n,
        discrete_win_rate=100 * statistics.fmean(discrete) if n else None,
    )


@contextlib.contextmanager
def _hub_files_from(module: Any, files: dict[str, Path]) -> Iterator[None]:
    """The package's `hf_hub_download` answers with the local copies of its Hub files for the duration."""
    original = module.hf_hub_download

    def local_copy(repo_id: str, filename: str, **_: Any) -> str:
        if filename not in files:
            raise FileNotFoundError(f"{filename} is not in the data directory")
        return str(files[filename])

    module.hf_hub_download = local_copy
    try:
        yield
    finally:
        module.hf_hub_download = original


def _import_glm() -> tuple[Any, Any]:
    """pandas and the package's glm_winrate module. Importing the package loads a .env file into the
    environment and sets the root logger to INFO: both are put back."""
    environment, level = dict(os.environ), logging.getLogger().level
    try:
        import pandas  # heavy: only for the GLM
        from alpaca_eval.metrics import glm_winrate  # heavy: the package's own GLM code
    finally:
        os.environ.clear()
        os.environ.update(environment)
        logging.getLogger().setLevel(level)
    return pandas, glm_winrate


def length_controlled(annotations: list[dict], positions: list[int], hub_files: dict[str, Path],
                      glm: str) -> tuple[dict | None, str | None]:
    """({length_controlled_winrate, lc_standard_error}, None) by the package's GLM code, or (None, why not).

    `positions` are the rows' indices in the reference file (the GLM's `index`)."""
    if "df_gamed.csv" not in hub_files:
        return None, ("df_gamed.csv (a file of the package's Hub dataset) is neither in the data directory nor "
                      "downloadable, and the length-controlled GLM needs it")
    try:
        pandas, glm_winrate = _import_glm()
    except Exception as err:  # ImportError, or its own imports failing (pkg_resources: setuptools<81)
        return None, f"the package of the length-controlled win rate cannot be imported ({type(err).__name__}: {err})"
    frame = pandas.DataFrame(annotations, index=positions)
    try:
        with _hub_files_from(glm_winrate, hub_files), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's notices about the package's calls
            metrics = glm_winrate.get_length_controlled_winrate(frame, glm_name=glm, save_weights_dir=None,
                                                                is_add_glm_preference_inplace=False)
    except Exception as err:  # a malformed df_gamed.csv, a failed fit: the win rate still stands
        return None, f"the length-controlled GLM failed ({type(err).__name__}: {str(err)[:200]})"
    values = {key: metrics.get(key) for key in ("length_controlled_winrate", "lc_standard_error")}
    return {k: (float(v) if v is not None and not math.isnan(float(v)) else None) for k, v in values.items()}, None


def _read_outputs(path: Path, what: str) -> list[dict]:
    """model_outputs.json rows ({instruction, output, generator, dataset}); BadInputError on anything else."""
    rows = read_json_records(path)
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        if not isinstance(row.get("instruction"), str) or not isinstance(row.get("output"), str):
            raise BadInputError(f"{path}: {what} {number}: needs string 'instruction' and 'output'")
        for key in ("generator", "dataset"):
            if key in row and not isinstance(row[key], str):
                raise BadInputError(f"{path}: {what} {number}: '{key}' must be a string")
        if row["instruction"] in seen:
            raise BadInputError(f"{path}: {what} {number}: instruction repeated (instructions are the key)")
        seen.add(row["instruction"])
    return rows


def _one_generator(path: Path, rows: list[dict], fallback: str) -> str:
    generators = {row["generator"] for row in rows if "generator" in row}
    if len(generators) > 1:
        raise BadInputError(f"{path}: expected the outputs of one generator, found {sorted(generators)[:5]}")
    return generators.pop() if generators else fallback


def _annotator(definition: JudgeDefinition, judge_model: str) -> str:
    """The annotator's name; the judge's is appended when it is not the definition's default judge."""
    settings: LogprobPreferenceSettings = definition.settings
    if judge_model == definition.default_judge_model:
        return settings.annotator
    return f"{settings.annotator}__{model_slug(judge_model)}"


def annotations_of(run: JudgeRun, judge_model: str, model_id: str, outcomes: list[JudgeOutcome]) -> list[dict]:
    """AlpacaEval's annotations (reference = output_1), one per question in reference order; preference
    1.5 for identical outputs, the mean over repeats of the valid preferences, else None."""
    definition, data = run.definition, run.data
    settings: LogprobPreferenceSettings = definition.settings
    shown: dict[Any, list[float]] = {}
    raw: dict[Any, list] = {}
    for outcome in outcomes:
        if outcome.row is not None and outcome.row.get("preference_as_shown") is not None:
            shown.setdefault(outcome.task.question_id, []).append(outcome.row["preference_as_shown"])
            raw.setdefault(outcome.task.question_id, []).append(outcome.row.get("replies", []))
    annotator = _annotator(definition, judge_model)
    rows = []
    for question in run.questions:
        qid, instruction = question["question_id"], question["turns"][0]
        reference, answer = data.files["reference"][qid], run.answers[qid][0]
        if reference == answer:
            preference = DRAW
        elif qid in shown:
            values = [3 - v for v in shown[qid]] if is_switched(instruction, settings) else shown[qid]
            preference = statistics.fmean(values)
        else:
            preference = None
        rows.append({"dataset": question["category"], "instruction": instruction, "output_1": reference,
                     "generator_1": data.files["reference_generator"], "output_2": answer, "generator_2": model_id,
                     "annotator": annotator, "preference": preference,
                     "preference_raw_completion": raw.get(qid)})
    return rows


class LogprobPreference(JudgeFormat):
    """Preference against reference outputs from the judge's top log-probabilities of one token."""

    name = "logprob_preference"
    data_files = ("reference", "template", "df_gamed", "instruction_difficulty")
    failure_kinds = (NO_LOGPROBS,)

    def parse_settings(self, judge: dict) -> LogprobPreferenceSettings:
        top_p = judge.get("top_p")
        return LogprobPreferenceSettings(
            annotator=str(judge["annotator"]),
            numerator_token=str(judge["numerator_token"]),
            denominator_tokens=tuple(str(t) for t in judge["denominator_tokens"]),
            top_logprobs=int(judge["top_logprobs"]),
            top_p=None if top_p is None else float(top_p),
            switch_column=str(judge["switch_column"]),
            seed=int(judge["seed"]),
            glm=str(judge["glm"]),
        )

    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        reference = _read_outputs(paths["reference"], "reference output")
        try:
            template = paths["template"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"{paths['template']}: unreadable judge prompt ({type(err).__name__})") from err
        found = PLACEHOLDER.findall(template)
        if sorted(found) != sorted(PROMPT_FIELDS):
            raise BadInputError(f"{paths['template']}: expected the placeholders {{instruction}}, {{output_1}}, "
                                f"{{output_2}} once each, found {found[:10]}")
        stripped = template.strip()
        if not (stripped.startswith(CHATML_START) and stripped.endswith(CHATML_END)):
            raise BadInputError(f"{paths['template']}: not a ChatML prompt (<|im_start|> ... <|im_end|>)")
        questions = [{"question_id": position, "category": row.get("dataset", ""), "turns": [row["instruction"]]}
                     for position, row in enumerate(reference)]
        check_questions(paths["reference"], questions, turns=1)
        hub_files = {Path(definition.files[key]["local"]).name: paths[key]
                     for key in ("df_gamed", "instruction_difficulty") if paths.get(key) is not None}
        return BenchmarkData(questions, {
            "template": template,
            "reference": [row["output"] for row in reference],
            "reference_generator": _one_generator(paths["reference"], reference, paths["reference"].parent.name),
            "hub_files": hub_files,
        })

    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[int, list[str]]]:
        """AlpacaEval's model_outputs.json; outputs are matched to questions by instruction text (the
        package merges on it)."""
        rows = _read_outputs(path, "output")
        model_id = _one_generator(path, rows, path.parent.name or path.stem)
        by_instruction = {row["instruction"]: row["output"] for row in rows}
        missing = [q["question_id"] for q in questions if q["turns"][0] not in by_instruction]
        if missing:
            raise BadInputError(f"{path}: no output for {len(missing)} instruction(s), e.g. positions {missing[:5]}")
        return model_id, {q["question_id"]: [by_instruction[q["turns"][0]]] for q in questions}

    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        return folder / "results" / model_slug(model_id) / "model_outputs.json"

    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[int, list[str]]) -> None:
        """evaluate_from_model's model_outputs.json: dataset, instruction, output, generator per row."""
        write_json_atomic(path, [
            {"dataset": q["category"], "instruction": q["turns"][0], "output": answers[q["question_id"]][0],
             "generator": model_id}
            for q in questions
        ])

    def protocol(self, definition: JudgeDefinition) -> dict:
        settings: LogprobPreferenceSettings = definition.settings
        return {"format": self.name, "annotator": settings.annotator, "top_logprobs": settings.top_logprobs,
                "preference": f"2 - p({settings.numerator_token}) / p({' or '.join(settings.denominator_tokens)})",
                "length_control": settings.glm}

    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        """One request per instruction whose output differs from the reference (identical ones are a draw)."""
        settings: LogprobPreferenceSettings = run.settings
        tasks: list[JudgeTask] = []
        for question in run.questions:
            qid, instruction = question["question_id"], question["turns"][0]
            reference, answer = run.data.files["reference"][qid], run.answers[qid][0]
            if reference == answer:
                continue
            first, second = (answer, reference) if is_switched(instruction, settings) else (reference, answer)
            messages = chatml_messages(render_template(
                run.data.files["template"], {"instruction": instruction, "output_1": first, "output_2": second}))
            user = next((m["content"] for m in messages if m["role"] == "user"), "")
            prompt = RenderedPrompt(settings.annotator, user, messages)
            tasks += JudgeTask.repeated(qid, 1, run.model_id, prompt, run.repeats)
        return tasks

    async def send(self, run: JudgeRun, client: JudgeClient, messages: list[dict], attempt: int) -> dict:
        """One token with its top log-probabilities ({text, logprobs}); no log-probabilities fails the call."""
        settings: LogprobPreferenceSettings = run.settings
        reply = await client.complete_with_logprobs(messages, top_logprobs=settings.top_logprobs,
                                                    extra_body=None if settings.top_p is None else {"top_p": settings.top_p})
        if reply.tokens is None:
            raise JudgeCallFailed(NO_LOGPROBS, NO_LOGPROBS_DETAIL)
        return {"text": reply.text, "logprobs": reply.tokens}

    def parse(self, run: JudgeRun, replies: list[dict]) -> tuple[float | None, str]:
        return preference_of(replies[-1]["logprobs"], run.settings)

    def accepted(self, parsed: tuple[float | None, str]) -> bool:
        return parsed[0] is not None

    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list[dict],
                 parsed: tuple[float | None, str] | None) -> Judgment:
        """The preference between the outputs as shown (1 = the first); the replies keep the raw
        log-probabilities. As upstream, no re-ask unless --judge_reask."""
        value, problem = parsed or (None, "")
        return Judgment({}, STATUS_OK if value is not None else STATUS_PARSE,
                        {"preference_as_shown": value, "problem": problem, "tstamp": time.time()})

    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        definition, data, questions, answers = run.definition, run.data, run.questions, run.answers
        settings: LogprobPreferenceSettings = definition.settings
        failures = self.failures()
        status: dict[Any, str] = {}
        for outcome in outcomes:
            if outcome.row is None:
                kind = failures.call_failed(outcome)
            else:
                kind = outcome.row.get("status", STATUS_PARSE)
                if kind == STATUS_PARSE:
                    failures.add("parse")
            status.setdefault(outcome.task.question_id, kind)
        # no request at all: every output is the reference's, i.e. the reference judged against itself
        model_id = outcomes[0].task.model_id if outcomes else data.files["reference_generator"]
        annotations = annotations_of(run, definition.default_judge_model, model_id, outcomes)
        preferences = [row["preference"] for row in annotations]
        samples = []
        for question, row in zip(questions, annotations):
            qid, preference = question["question_id"], row["preference"]
            samples.append({"item": str(qid), "score": None if preference is None else 100 * (preference - 1),
                            "group": question["category"], "question_id": qid, "preference": preference,
                            "switched": is_switched(row["instruction"], settings),
                            "status": STATUS_IDENTICAL if row["output_1"] == row["output_2"] else status.get(qid, "missing")})
        rate = win_rate_of(preferences)
        metrics: dict = {
            "win_rate": rate.win_rate, "win_rate_stderr": rate.standard_error,
            "discrete_win_rate": rate.discrete_win_rate, "n_wins": rate.n_wins, "n_wins_base": rate.n_wins_base,
            "n_draws": rate.n_draws, "n_total": rate.n_total,
            "avg_length": int(statistics.fmean(len(answers[q["question_id"]][0]) for q in questions)),
            "n_items": len(questions), "n_valid": rate.n_total, "reasks": reasks_of(outcomes),
            # texts holding "{output_2}" etc.: upstream's rendering fills THAT occurrence (reproduced), so an
            # answer can displace the other output in the prompt; counted so a reader can see it happened
            "n_placeholder_text": sum(any("{" + field + "}" in row[key] for field in PROMPT_FIELDS
                                          for key in ("instruction", "output_1", "output_2")) for row in annotations),
        }
        lc, lc_missing = (None, "no valid judgment") if rate.win_rate is None else length_controlled(
            annotations, [q["question_id"] for q in questions], data.files["hub_files"], settings.glm)
        if lc is not None and lc["length_controlled_winrate"] is not None:
            score, stderr = lc["length_controlled_winrate"], lc["lc_standard_error"]
            metrics.update(length_controlled_winrate=score, length_controlled_winrate_stderr=stderr,
                           score_metric="length_controlled_winrate")
        else:
            score, stderr = rate.win_rate, rate.standard_error
            metrics.update(length_controlled_winrate=None, length_controlled_missing=lc_missing,
                           score_metric="win_rate")
        metrics["score_stderr"] = stderr
        subscores = {category: win_rate_of([p for q, p in zip(questions, preferences) if q["category"] == category]).win_rate
                     for category in dict.fromkeys(q["category"] for q in questions)}
        return Summary(score, metrics, subscores, failures, samples, len(samples))

    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """AlpacaEval's results/<model>/<annotator>/annotations.json (beside its model_outputs.json):
        every instruction in reference order, reference first; no usable judgment: preference null, and the
        failure in `preference_error`."""
        judge_model, model_id = run.judge_model, run.model_id
        rows = annotations_of(run, judge_model, model_id, outcomes)
        failed = {o.task.question_id: (o.failure, o.detail) for o in outcomes if o.row is None}
        failed.update({o.task.question_id: (STATUS_PARSE, o.row.get("problem", "")) for o in outcomes
                       if o.row is not None and o.row.get("status") == STATUS_PARSE})
        for question, row in zip(run.questions, rows):
            if row["preference"] is None and question["question_id"] in failed:
                kind, detail = failed[question["question_id"]]
                row["preference_error"] = f"{kind}: {detail}"
        path = folder / "results" / model_slug(model_id) / _annotator(run.definition, judge_model) / "annotations.json"
        write_json_atomic(path, rows)
        return path


FORMAT = LogprobPreference()
