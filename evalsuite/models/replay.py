"""`ReplayLM`: an lm-eval model that answers with completions generated elsewhere (the `score` command).

Each generation request of a benchmark's own lm-eval task gets the recorded completion of its item, cut
at the task's stop sequences as lm-eval's models cut their output, so the task's own filters,
`process_results` and aggregation score it as they score a model's generations.
"""

from __future__ import annotations

from typing import Any

from evalsuite.errors import BadInputError, EvalsuiteError


def cut_at_stop_sequences(text: str, until: list[str] | str | None) -> str:
    """The text before the first stop sequence, as lm-eval's models cut their generations."""
    stops = [until] if isinstance(until, str) else list(until or [])
    for stop in stops:
        if stop:
            text = text.split(stop)[0]
    return text


def replay_lm(completions: dict[tuple[str, int], str], subset: dict[str, list[int]] | None = None) -> Any:
    """An lm-eval LM that answers each generation request with the recorded completion of its item
    (`completions` by (lm-eval task name, doc_id)).

    With a `subset` (lm-eval's `samples`), lm-eval numbers the selected docs of a task 0, 1, ... in
    their order; request doc_id j is then the task's j-th selected doc_id."""
    from lm_eval.api.model import LM  # heavy (torch); imported when scoring starts

    def original(task_name: str, doc_id: int) -> int:
        return sorted(subset[task_name])[doc_id] if subset else doc_id

    class ReplayLM(LM):
        """Completions generated elsewhere, replayed as lm-eval model output."""

        def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
            outputs = []
            for request in requests:
                gen_kwargs = request.args[1] if len(request.args) > 1 else {}
                key = (request.task_name, original(request.task_name, request.doc_id))
                if key not in completions:
                    raise EvalsuiteError(f"no completion for {key[0]} doc_id {key[1]} (the item index and lm-eval disagree)")
                text = completions[key]
                outputs.append(cut_at_stop_sequences(text, (gen_kwargs or {}).get("until")))
            return outputs

        def loglikelihood(self, requests: list, disable_tqdm: bool = False) -> list:
            raise BadInputError("completions generated elsewhere cannot answer loglikelihood requests")

        def loglikelihood_rolling(self, requests: list, disable_tqdm: bool = False) -> list:
            raise BadInputError("completions generated elsewhere cannot answer loglikelihood requests")

    return ReplayLM()
