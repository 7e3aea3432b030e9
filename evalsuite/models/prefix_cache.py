"""`hf-fast`: lm-eval's `hf` model with loglikelihood scoring that shares prefixes and reads logits sparsely.

Two costs of `HFLM._loglikelihood_tokens` are avoided, with the same numbers as a result:
- Shared prefixes are computed once. Requests are deduplicated by their input tokens and sorted
  lexicographically, so that sequences sharing a prefix (the few-shot block, the question under
  several options) meet; the KV cache of the previous sequence is cut back to the longest prefix it
  shares with the next one and only the rest runs through the model.
- The LM head and the log-softmax run only at the continuation positions (transformers'
  `logits_to_keep`), never over the whole sequence.

Neighbours that share a prefix run as one right-padded batch on top of the cached prefix. The cache
holds one token path of at most `max_length` tokens; a batch expands it to `rows` copies, and rows are
limited so that this stays under `prefix_cache_mb` (a model argument, default 2048). Caches that cannot
be cut back exactly (sliding-window, linear-attention or hybrid layers) are not reused: those models
still get the sparse head. Seq2seq models, generation and everything else are lm-eval's own code.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from tqdm import tqdm

IMPLEMENTATION_NAME = "hf-fast"
DEFAULT_PREFIX_CACHE_MB = 2048
# A neighbour joins a batch only while the batch keeps at least this share of the shared prefix.
MIN_SHARED_PREFIX_KEPT = 0.5

Request = tuple[tuple[str, str] | None, list[int], list[int]]


@dataclass
class ScoredSequence:
    """One distinct model input and the requests that read log-probabilities from it."""

    tokens: tuple[int, ...]
    first_scored: int  # first position whose next-token distribution some request reads
    requests: list[int] = field(default_factory=list)  # indices into the request list


def model_input(context: list[int], continuation: list[int], max_length: int) -> tuple[int, ...]:
    """The tokens lm-eval's causal `hf` model feeds for a request: left-truncated, last token dropped."""
    return tuple((context + continuation)[-(max_length + 1):][:-1])


def common_prefix_length(first: tuple[int, ...], second: tuple[int, ...]) -> int:
    """Number of leading tokens two sequences share."""
    limit = min(len(first), len(second))
    index = 0
    while index < limit and first[index] == second[index]:
        index += 1
    return index


def group_by_input(requests: list[Request], max_length: int) -> list[ScoredSequence]:
    """Distinct inputs, sorted lexicographically so that shared prefixes are neighbours."""
    by_tokens: dict[tuple[int, ...], ScoredSequence] = {}
    for index, (_, context, continuation) in enumerate(requests):
        if not context or not continuation or len(continuation) > max_length:
            raise ValueError(
                f"loglikelihood request {index}: context and continuation must be non-empty and the "
                f"continuation at most {max_length} tokens"
            )
        tokens = model_input(context, continuation, max_length)
        first_scored = len(tokens) - len(continuation)
        entry = by_tokens.setdefault(tokens, ScoredSequence(tokens, first_scored))
        entry.first_scored = min(entry.first_scored, first_scored)
        entry.requests.append(index)
    return [by_tokens[tokens] for tokens in sorted(by_tokens)]


def plan_batches(sequences: list[ScoredSequence], max_rows: int) -> list[tuple[list[int], int]]:
    """Consecutive runs of sequences to score together, each with the prefix length they all share.

    The shared prefix never reaches a scored position (its logits would be needed). A neighbour joins
    while the run keeps at least MIN_SHARED_PREFIX_KEPT of the prefix its first two members share.
    """
    batches: list[tuple[list[int], int]] = []
    start = 0
    while start < len(sequences):
        members = [start]
        shared = sequences[start].first_scored
        floor = None
        following = start + 1
        while following < len(sequences) and len(members) < max_rows:
            candidate = sequences[following]
            joined = min(
                shared,
                candidate.first_scored,
                common_prefix_length(sequences[following - 1].tokens, candidate.tokens),
            )
            if floor is None:
                floor = joined * MIN_SHARED_PREFIX_KEPT
            if joined < floor or (joined == 0 and shared > 0):
                break
            members.append(following)
            shared = joined
            following += 1
        batches.append((members, shared))
        start = following
    return batches


def reusable_cache(cache: Any) -> bool:
    """Whether a transformers cache can be cut back to a prefix exactly: only plain full-attention layers."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers) and hasattr(cache, "crop")


def cut_cache(cache: Any, length: int) -> None:
    """Keep the first `length` positions of a cache (a negative count removes from the end in every version)."""
    surplus = cache.get_seq_length() - length
    if surplus > 0:
        cache.crop(-surplus)
    if cache.get_seq_length() != length:
        raise RuntimeError(f"KV cache holds {cache.get_seq_length()} positions after cutting to {length}")


@register_model(IMPLEMENTATION_NAME)
class PrefixCacheHFLM(HFLM):
    """lm-eval's HFLM whose loglikelihood reuses shared-prefix KV caches and computes logits only where read."""

    def __init__(self, *args: Any, prefix_cache_mb: int | str = DEFAULT_PREFIX_CACHE_MB, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix_cache_bytes = int(prefix_cache_mb) * 2**20
        if self.prefix_cache_bytes <= 0:
            raise ValueError(f"prefix_cache_mb must be positive, not {prefix_cache_mb}")
        parameters = inspect.signature(self.model.forward).parameters
        self._sparse_head = "logits_to_keep" in parameters
        # transformers >= 5.x names the cache argument `cache`; earlier versions `past_key_values`.
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._reuse_cache = True  # switched off when the model's cache cannot be cut back exactly
        self._cache: Any = None
        self._cached_tokens: tuple[int, ...] = ()

    # lm-eval's entry point for loglikelihood and loglikelihood_rolling windows.
    def _loglikelihood_tokens(
        self,
        requests: list[Request],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        if self.backend != "causal":
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        sequences = group_by_input(requests, self.max_length)
        answers: list[tuple[float, bool] | None] = [None] * len(requests)
        progress = tqdm(
            total=len(requests), disable=disable_tqdm or self.rank != 0, desc="Running loglikelihood requests"
        )
        try:
            for members, shared in plan_batches(sequences, self._rows(override_bs)):
                batch = [sequences[index] for index in members]
                for sequence, log_probs in zip(batch, self._score_batch(batch, shared), strict=True):
                    for request_index in sequence.requests:
                        answer = self._answer(sequence, requests[request_index][2], log_probs)
                        answers[request_index] = answer
                        if requests[request_index][0] is not None:
                            self.cache_hook.add_partial("loglikelihood", requests[request_index][0], answer)
                        progress.update(1)
        finally:
            progress.close()
            self._cache, self._cached_tokens = None, ()  # free the KV memory between calls
        return answers  # type: ignore[return-value]

    def _rows(self, override_bs: int | None) -> int:
        """Batch rows: the batch size, or override_bs / the largest sensible batch under 'auto'."""
        if isinstance(self.batch_size, int) and self.batch_size > 0:
            return self.batch_size
        return override_bs or getattr(self, "max_batch_size", None) or 64

    def _answer(
        self, sequence: ScoredSequence, continuation: list[int], log_probs: torch.Tensor
    ) -> tuple[float, bool]:
        """(sum of the continuation's log-probabilities, whether greedy decoding yields it) for one request.

        `log_probs` holds the log-softmax rows of positions first_scored.. of the sequence.
        """
        first = len(sequence.tokens) - len(continuation) - sequence.first_scored
        rows = log_probs[first:first + len(continuation)]
        targets = torch.tensor(continuation, dtype=torch.long, device=rows.device)
        greedy = bool((rows.argmax(dim=-1) == targets).all())
        return float(rows.gather(1, targets.unsqueeze(-1)).sum()), greedy

    def _score_batch(self, batch: list[ScoredSequence], shared: int) -> list[torch.Tensor]:
        """Log-softmax rows (positions first_scored..end) of each sequence, on top of a cached shared prefix."""
        shared = self._prepare_prefix(batch[-1].tokens, shared)
        rows = self._rows_within_memory(batch, shared)
        if rows < len(batch):
            head = self._score_batch(batch[:rows], shared)
            return head + self._score_batch(batch[rows:], shared)
        suffixes = [sequence.tokens[shared:] for sequence in batch]
        width = max(len(suffix) for suffix in suffixes)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor(
            [list(suffix) + [pad] * (width - len(suffix)) for suffix in suffixes], dtype=torch.long, device=self.device
        )
        # Right padding only follows the real tokens, so causal attention keeps it out of every read position.
        wanted = [
            range(sequence.first_scored - shared, len(sequence.tokens) - shared) for sequence in batch
        ]
        positions = sorted({position for span in wanted for position in span})
        logits = self._forward(input_ids, positions)
        column = {position: index for index, position in enumerate(positions)}
        outputs = []
        for row, span in enumerate(wanted):
            picked = logits[row, [column[position] for position in span]]
            outputs.append(F.log_softmax(picked, dim=-1, dtype=self.softmax_dtype))
        self._keep_last_row(batch, shared)
        return outputs

    def _prepare_prefix(self, tokens: tuple[int, ...], shared: int) -> int:
        """Make the cache hold exactly tokens[:shared] (computing what it lacks); return the prefix length used."""
        if not self._reuse_cache or shared == 0:
            self._cache, self._cached_tokens = None, ()
            return 0
        kept = common_prefix_length(self._cached_tokens, tokens[:shared])
        if self._cache is not None:
            cut_cache(self._cache, kept)
            self._cached_tokens = self._cached_tokens[:kept]
        if kept < shared:
            missing = torch.tensor([tokens[kept:shared]], dtype=torch.long, device=self.device)
            self._forward(missing, [shared - kept - 1])
            if not self._reuse_cache:
                return 0
            self._cached_tokens = tokens[:shared]
        return shared

    def _rows_within_memory(self, batch: list[ScoredSequence], shared: int) -> int:
        """How many rows fit under prefix_cache_mb, from the measured KV bytes per position (at least one)."""
        if self._cache is None or shared == 0 or len(batch) == 1:
            return len(batch)
        per_position = self._cache_bytes() / max(self._cache.get_seq_length(), 1)
        longest = max(len(sequence.tokens) for sequence in batch)
        return max(1, min(len(batch), int(self.prefix_cache_bytes // (per_position * longest))))

    def _cache_bytes(self) -> int:
        return sum(
            layer.keys.nbytes + layer.values.nbytes
            for layer in self._cache.layers
            if getattr(layer, "keys", None) is not None
        )

    def _forward(self, input_ids: torch.Tensor, positions: list[int]) -> torch.Tensor:
        """Run the model on input_ids after the cached prefix; logits [rows, len(positions), vocab].

        Updates self._cache with the new positions (expanded to the batch's rows).
        """
        cache = self._cache
        if cache is not None and input_ids.shape[0] > 1:
            cache.batch_repeat_interleave(input_ids.shape[0])
        kwargs: dict[str, Any] = {"use_cache": self._reuse_cache}
        if cache is not None:
            kwargs[self._cache_argument] = cache
        if self._sparse_head:
            kwargs["logits_to_keep"] = torch.tensor(positions, dtype=torch.long, device=self.device)
        with (
            torch.no_grad(),
            torch.autocast(
                device_type=self.device.type,
                dtype=self.mixed_precision_dtype,
                enabled=self.mixed_precision_dtype is not None,
            ),
        ):
            output = self.model(input_ids=input_ids, **kwargs)
        logits = output.logits if self._sparse_head else output.logits[:, positions]
        if self._reuse_cache:
            returned = getattr(output, "cache", None) or getattr(output, "past_key_values", None)
            if reusable_cache(returned):
                self._cache = returned
            else:
                self._reuse_cache, self._cache, self._cached_tokens = False, None, ()
        return logits

    def _keep_last_row(self, batch: list[ScoredSequence], shared: int) -> None:
        """After a batch, keep the cache of its last sequence (the next one in sorted order shares most with it)."""
        if self._cache is None:
            return
        last = batch[-1].tokens
        if len(batch) > 1:
            self._cache.batch_select_indices(torch.tensor([len(batch) - 1], device=self.device))
        cut_cache(self._cache, len(last))
        self._cached_tokens = last
