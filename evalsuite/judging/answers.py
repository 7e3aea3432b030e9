"""Answers of the model under test to a judged benchmark's questions, through the lm-eval LM object.

All turn-1 requests of a run go to `lm.generate_until` in one call, then all turn-2 requests, each
conditioned on the model's own turn-1 answer, and so on (a question's `history`, when it has one,
comes first). The judged format writes the answers in its official file format. The chat template
is the model's own (`lm.apply_chat_template`: a prompt string for hf/vllm, the JSON message list for
chat APIs). Decoding as the definition's `generation:` says (FastChat's gen_model_answer: a
per-category temperature, greedy below 1e-4).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from evalsuite.errors import EvalsuiteError
from evalsuite.judging.client import resume_line
from evalsuite.results.store import JsonlCache
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
    fingerprint: str,
    cache: JsonlCache,
    max_new_tokens: int | None = None,
    label: str = "answers",
) -> dict[Any, list[str]]:
    """{question_id: the answer of each turn}, generating only the turns not in the cache (one line
    on stderr says how many were reused).

    Turn k of every question is one `generate_until` call, conditioned on the question's history
    (if any) and the model's own answers to turns 1..k-1.
    """
    max_new = max_new_tokens or definition.max_new_tokens
    kwargs = {q["question_id"]: gen_kwargs_for(definition, q["category"], max_new) for q in questions}
    turns = [(q, turn) for q in questions for turn in range(1, len(q["turns"]) + 1)]
    cached = sum(cache.get(_answer_key(fingerprint, q, turn, kwargs[q["question_id"]])) is not None
                 for q, turn in turns)
    print(resume_line(label, cached, len(turns), "answer turns"), file=sys.stderr, flush=True)
    texts: dict[tuple[Any, int], str] = {}
    for turn in range(1, max(len(q["turns"]) for q in questions) + 1):
        todo = []
        for q in questions:
            if turn > len(q["turns"]):
                continue
            cached = cache.get(_answer_key(fingerprint, q, turn, kwargs[q["question_id"]]))
            if cached is not None:
                texts[(q["question_id"], turn)] = cached["text"]
            else:
                todo.append(q)
        if not todo:
            continue
        contexts = []
        for q in todo:
            messages = [dict(message) for message in q.get("history", [])]
            for earlier in range(1, turn):
                messages += [
                    {"role": "user", "content": q["turns"][earlier - 1]},
                    {"role": "assistant", "content": texts[(q["question_id"], earlier)]},
                ]
            messages.append({"role": "user", "content": q["turns"][turn - 1]})
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
    return {
        q["question_id"]: [texts[(q["question_id"], turn)] for turn in range(1, len(q["turns"]) + 1)]
        for q in questions
    }
