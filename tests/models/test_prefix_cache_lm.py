"""hf-fast (evalsuite/models/prefix_cache.py) against lm-eval's own `hf` model, request by request.

Requests come from the es_* task configs on the real-schema fixtures: MMLU-Pro (one 5-shot prefix
shared by every question), KMMLU (5 dev shots in a per-item order), KoBEST COPA (multi-token
continuations) and zero-shot variants (no shared prefix); a short max_length truncates from the left.
The fast tests use a tiny random Llama with a BPE tokenizer trained on the fixtures; one `real_model`
test uses the embedded SmolLM2 in float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, PreTrainedTokenizerFast

from evalsuite.models.loader import load_model
from evalsuite.models.prefix_cache import (
    PrefixCacheHFLM,
    common_prefix_length,
    group_by_input,
    plan_batches,
)
from evalsuite.runner.lm_eval_backend import task_manager

from tests.conftest import FIXTURE_DATA as FIXTURES
TOLERANCE = 1e-4
TASKS = ("es_mmlu_pro", "es_kmmlu_accounting", "es_kmmlu_math", "es_kobest_copa")


def task_requests(manager, name: str, num_fewshot: int, limit: int) -> list[Instance]:
    """The loglikelihood Instances lm-eval builds for a task (seeded shots)."""
    task = manager.load([name])["tasks"][name]
    task.set_config(key="num_fewshot", value=num_fewshot)
    task.set_fewshot_seed(seed=1234)
    task.build_all_requests(limit=limit)
    return list(task.instances)


@pytest.fixture(scope="module")
def requests_by_kind() -> dict[str, list[Instance]]:
    manager = task_manager(FIXTURES)
    few_shot = [r for name in TASKS for r in task_requests(manager, name, 5, 4)]
    zero_shot = [r for name in TASKS for r in task_requests(manager, name, 0, 4)]
    return {"few_shot": few_shot, "zero_shot": zero_shot}


def fixture_texts() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix in (".jsonl", ".csv", ".tsv"):
            texts.append(path.read_text(encoding="utf-8"))
    return texts


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer random Llama plus a BPE tokenizer trained on the fixtures, saved as an HF folder."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(fixture_texts(), trainer=trainer)
    tokenizer.decoder = decoders.ByteLevel()
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )
    wrapped.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(wrapped), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def make_pair(folder: Path, max_length: int, batch_size: int = 4) -> tuple[HFLM, PrefixCacheHFLM]:
    common = dict(pretrained=str(folder), dtype="float32", device="cpu", batch_size=batch_size, max_length=max_length)
    return HFLM(**common), PrefixCacheHFLM(**common)


def assert_same_answers(reference: list, fast: list) -> None:
    assert len(reference) == len(fast) > 0
    for index, ((ref_logprob, ref_greedy), (fast_logprob, fast_greedy)) in enumerate(zip(reference, fast)):
        assert abs(ref_logprob - fast_logprob) <= TOLERANCE, (index, ref_logprob, fast_logprob)
        assert ref_greedy == fast_greedy, index


class TokensFed:
    """Counts the tokens a model's embedding receives and the positions its LM head computes."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.tokens = 0
        self.head_positions = 0
        model.get_input_embeddings().register_forward_hook(self._embedded)
        model.get_output_embeddings().register_forward_hook(self._headed)

    def _embedded(self, _module, args, _output) -> None:
        self.tokens += args[0].numel()

    def _headed(self, _module, _args, output) -> None:
        self.head_positions += output.shape[0] * output.shape[1]


@pytest.mark.parametrize("kind", ["few_shot", "zero_shot"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_same_logprobs_as_lm_eval_hf(tiny_model_dir, requests_by_kind, kind, batch_size):
    reference, fast = make_pair(tiny_model_dir, max_length=2048, batch_size=batch_size)
    requests = requests_by_kind[kind]
    assert any(len(r.arguments[1]) > 3 for r in requests)  # COPA: multi-token continuations
    assert_same_answers(reference.loglikelihood(requests), fast.loglikelihood(requests))


def test_same_logprobs_under_left_truncation(tiny_model_dir, requests_by_kind):
    reference, fast = make_pair(tiny_model_dir, max_length=48)
    requests = requests_by_kind["few_shot"]
    context_tokens = [len(fast.tok_encode(r.arguments[0])) for r in requests]
    assert min(context_tokens) > 48  # every request is cut from the left
    assert_same_answers(reference.loglikelihood(requests), fast.loglikelihood(requests))


def test_shared_prefix_runs_once_and_head_only_where_read(tiny_model_dir, requests_by_kind):
    reference, fast = make_pair(tiny_model_dir, max_length=2048, batch_size=1)
    mmlu_pro = [r for r in requests_by_kind["few_shot"] if r.task_name == "es_mmlu_pro"]
    reference_count, fast_count = TokensFed(reference.model), TokensFed(fast.model)
    assert_same_answers(reference.loglikelihood(mmlu_pro), fast.loglikelihood(mmlu_pro))
    encoded = [(None, *fast._encode_pair(*r.arguments)) for r in mmlu_pro]
    sequences = group_by_input(encoded, fast.max_length)
    # The 5-shot prefix runs once: every other sequence feeds only what it does not share with its neighbour.
    # (up to its first scored position, whose logits are needed).
    reused = [0] + [
        min(common_prefix_length(before.tokens, after.tokens), after.first_scored)
        for before, after in zip(sequences, sequences[1:])
    ]
    assert min(reused[1:]) > 100
    assert fast_count.tokens == sum(len(s.tokens) for s in sequences) - sum(reused)
    # The head runs at the scored positions only (plus one position per prefix extension).
    scored = sum(len(s.tokens) - s.first_scored for s in sequences)
    assert fast_count.head_positions <= scored + len(sequences)
    assert reference_count.head_positions > 20 * fast_count.head_positions


def test_permuted_shots_reuse_the_longest_shared_prefix(tiny_model_dir):
    _, fast = make_pair(tiny_model_dir, max_length=2048, batch_size=1)
    shots = ["Shot one is here.\n\n", "Shot two is longer, here.\n\n", "Shot three.\n\n"]
    contexts = [shots[0] + shots[1] + shots[2] + "Q1", shots[0] + shots[2] + shots[1] + "Q2",
                shots[0] + shots[1] + shots[2] + "Q3"]
    requests = [
        Instance("loglikelihood", {}, (context, " A"), 0) for context in contexts
    ]
    counter = TokensFed(fast.model)
    fast.loglikelihood(requests)
    encoded = [fast.tok_encode(context + " A")[:-1] for context in contexts]
    everything = sum(len(tokens) for tokens in encoded)
    ordered = sorted(encoded)
    shared = sum(common_prefix_length(tuple(a), tuple(b)) for a, b in zip(ordered, ordered[1:]))
    assert counter.tokens == everything - shared


def test_generation_passes_through_unchanged(tiny_model_dir):
    reference, fast = make_pair(tiny_model_dir, max_length=256)
    requests = [
        Instance("generate_until", {}, (prompt, {"until": ["\n\n"], "max_gen_toks": 8, "do_sample": False}), 0)
        for prompt in ("Question: 2+2?\nAnswer:", "다음 중 옳은 것은?")
    ]
    assert fast.generate_until(requests) == reference.generate_until(requests)


def test_sliding_window_model_is_exact_without_cache_reuse(tmp_path, tiny_model_dir, requests_by_kind):
    config = MistralConfig(
        vocab_size=LlamaConfig.from_pretrained(tiny_model_dir).vocab_size, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        sliding_window=32, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    torch.manual_seed(1)
    MistralForCausalLM(config).save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_model_dir / name).exists():
            (tmp_path / name).write_bytes((tiny_model_dir / name).read_bytes())
    reference, fast = make_pair(tmp_path, max_length=2048)
    requests = requests_by_kind["few_shot"][:24]
    assert_same_answers(reference.loglikelihood(requests), fast.loglikelihood(requests))


def test_batches_share_a_prefix_short_of_every_scored_position():
    requests = [
        (None, [1, 2, 3, 4, 5], [9]),
        (None, [1, 2, 3, 4, 5], [8]),  # same input as the first: scored once
        (None, [1, 2, 3, 7], [6, 6]),
        (None, [4, 4], [1]),
    ]
    sequences = group_by_input(requests, max_length=100)
    assert [s.tokens for s in sequences] == [(1, 2, 3, 4, 5), (1, 2, 3, 7, 6), (4, 4)]
    assert sequences[0].requests == [0, 1]
    batches = plan_batches(sequences, max_rows=8)
    assert batches == [([0, 1], 3), ([2], 1)]
    for members, shared in batches:
        assert all(shared <= sequences[m].first_scored for m in members)


def test_bad_request_is_a_clear_error():
    with pytest.raises(ValueError, match="must be non-empty"):
        group_by_input([(None, [1], [])], max_length=10)


def test_selectable_by_name_and_recorded(tiny_model_dir):
    fast = load_model("hf-fast", f"pretrained={tiny_model_dir},dtype=float32", device="cpu")
    plain = load_model("hf", f"pretrained={tiny_model_dir},dtype=float32", device="cpu")
    assert isinstance(fast.lm, PrefixCacheHFLM)
    assert type(plain.lm) is HFLM
    assert fast.info["implementation"] == "hf-fast (evalsuite.models.prefix_cache.PrefixCacheHFLM)"
    assert plain.info["implementation"] == "hf (lm_eval.models.huggingface.HFLM)"
    json.dumps(fast.info)


@pytest.mark.real_model
def test_embedded_model_matches_lm_eval_hf(requests_by_kind):
    from evalsuite.models.embedded import embedded_hf_dir

    folder = embedded_hf_dir()
    reference, fast = make_pair(folder, max_length=2048)
    requests = [r for r in requests_by_kind["few_shot"] if r.doc_id == 0] + requests_by_kind["zero_shot"][:8]
    assert_same_answers(reference.loglikelihood(requests), fast.loglikelihood(requests))
    truncated_reference, truncated_fast = make_pair(folder, max_length=200)
    sample = requests_by_kind["few_shot"][:12]
    assert_same_answers(truncated_reference.loglikelihood(sample), truncated_fast.loglikelihood(sample))
