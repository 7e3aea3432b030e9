"""Two-turn answers of the model under test, through the lm-eval LM object, in FastChat's answer schema.

All turn-1 requests of a run go to `lm.generate_until` in one call, then all turn-2 requests, each
turn 2 conditioned on the model's own turn-1 answer. The chat template is the model's own
(`lm.apply_chat_template`: a prompt string for hf/vllm, the JSON message list for chat APIs).
Decoding as FastChat's gen_model_answer: per-category temperature, greedy below 1e-4.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from evalsuite.data.local import read_jsonl
from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.judging.client import JsonlCache, stable_hash
from evalsuite.judging.definitions import JudgeDefinition


def gen_kwargs_for(definition: JudgeDefinition, category: str, max_new_tokens: int) -> dict[str, Any]:
    """lm-eval generation kwargs of a question's category."""
    temperature = definition.temperature_for(category)
    greedy = temperature < definition.greedy_below
    return {
        "until": [],
        "max_gen_toks": max_new_tokens,
        "temperature": 0.0 if greedy else temperature,
        "do_sample": not greedy,
    }


def _answer_key(fingerprint: str, question: dict, turn: int, kwargs: dict) -> tuple:
    return (fingerprint, question["question_id"], turn, kwargs["temperature"], kwargs["max_gen_toks"])


def _generate(lm, contexts: list, kwargs_list: list[dict]) -> list[str]:
    from lm_eval.api.instance import Instance

    requests = [
        Instance(request_type="generate_until", doc={}, arguments=(context, dict(kwargs)), idx=0)
        for context, kwargs in zip(contexts, kwargs_list)
    ]
    outputs = lm.generate_until(requests)
    if len(outputs) != len(requests):
        raise EvalsuiteError(f"the model returned {len(outputs)} answers for {len(requests)} requests")
    return [(text or "").strip() for text in outputs]


def _chat_context(lm, messages: list[dict[str, str]]):
    try:
        return lm.apply_chat_template(messages, add_generation_prompt=True)
    except (ValueError, AttributeError, NotImplementedError) as err:
        raise EvalsuiteError(f"the model has no usable chat template ({err}); judge benchmarks need a chat model") from err


def generate_answers(
    lm,
    questions: list[dict],
    definition: JudgeDefinition,
    *,
    model_id: str,
    fingerprint: str,
    cache: JsonlCache,
    max_new_tokens: int | None = None,
) -> list[dict]:
    """FastChat answer records (one per question), generating only the turns not in the cache."""
    max_new = max_new_tokens or definition.max_new_tokens
    kwargs = {q["question_id"]: gen_kwargs_for(definition, q["category"], max_new) for q in questions}
    texts: dict[tuple[int, int], str] = {}
    for turn in (1, 2):
        todo = []
        for q in questions:
            cached = cache.get(_answer_key(fingerprint, q, turn, kwargs[q["question_id"]]))
            if cached is not None:
                texts[(q["question_id"], turn)] = cached["text"]
            else:
                todo.append(q)
        if not todo:
            continue
        contexts = []
        for q in todo:
            messages = [{"role": "user", "content": q["turns"][0]}]
            if turn == 2:
                messages += [
                    {"role": "assistant", "content": texts[(q["question_id"], 1)]},
                    {"role": "user", "content": q["turns"][1]},
                ]
            contexts.append(_chat_context(lm, messages))
        outputs = _generate(lm, contexts, [kwargs[q["question_id"]] for q in todo])
        for q, text in zip(todo, outputs):
            k = kwargs[q["question_id"]]
            cache.put({
                "model_fingerprint": fingerprint, "question_id": q["question_id"], "turn": turn,
                "temperature": k["temperature"], "max_new_tokens": k["max_gen_toks"],
                "text": text, "tstamp": time.time(),
            })
            texts[(q["question_id"], turn)] = text
    records = []
    for q in questions:
        turns = [texts[(q["question_id"], 1)], texts[(q["question_id"], 2)]]
        stamp = cache.get(_answer_key(fingerprint, q, 2, kwargs[q["question_id"]]))["tstamp"]
        records.append({
            "question_id": q["question_id"],
            "answer_id": stable_hash([fingerprint, q["question_id"], turns], 22),
            "model_id": model_id,
            "choices": [{"index": 0, "turns": turns}],
            "tstamp": stamp,
        })
    return records


def load_answers_file(path: Path, questions: list[dict]) -> tuple[str, list[dict]]:
    """(model_id, answer records for `questions`) from a FastChat answer file; BadInputError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"--answers_file {path} does not exist")
    by_id: dict[int, dict] = {}
    model_ids = set()
    for number, row in enumerate(read_jsonl(path), 1):
        try:
            turns = row["choices"][0]["turns"]
            qid = row["question_id"]
        except (KeyError, IndexError, TypeError) as err:
            raise BadInputError(
                f"{path}: answer {number}: not a FastChat answer (question_id, model_id, choices[0].turns): {err}"
            ) from err
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise BadInputError(f"{path}: answer {number}: choices[0].turns must be a list of strings")
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise BadInputError(f"{path}: answer {number}: question_id must be an integer")
        model_ids.add(str(row.get("model_id") or path.stem))
        by_id[qid] = row  # FastChat's load_model_answers: the last line of a question wins
    if len(model_ids) != 1:
        raise BadInputError(f"{path}: expected the answers of one model, found model_id {sorted(model_ids)}")
    missing = [q["question_id"] for q in questions if q["question_id"] not in by_id]
    if missing:
        raise BadInputError(f"{path}: no answer for {len(missing)} question(s), e.g. {missing[:5]}")
    short = [q["question_id"] for q in questions if len(by_id[q["question_id"]]["choices"][0]["turns"]) < 2]
    if short:
        raise BadInputError(f"{path}: answers need two turns; question(s) {short[:5]} have fewer")
    return model_ids.pop(), [by_id[q["question_id"]] for q in questions]
