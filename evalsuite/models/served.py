"""Models behind an HTTP server (lm-eval's API model types: local-completions, local-chat-completions,
openai-*): which benchmarks they can run, and their tokenizer when the Hugging Face Hub is out of reach.

lm-eval loads an API model's tokenizer from the Hub by the model's name (`tokenizer=` overrides it);
unreachable, the Hub costs about a minute of retries before an error that never names `tokenizer=`.
A quick connection test (or HF_HUB_OFFLINE) switches the Hub to offline mode first, so a cached
tokenizer loads at once and a missing one fails at once, with the hint."""

from __future__ import annotations

import inspect
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from evalsuite.errors import BadInputError

# lm-eval model types that only talk to chat endpoints: no log-probabilities of a given continuation
CHAT_ENDPOINT_TYPES = {"local-chat-completions", "openai-chat-completions", "anthropic-chat",
                       "anthropic-chat-completions"}
HUB_CHECK_TIMEOUT_S = 3.0
NO_TOKENIZER_BACKENDS = {"none", "None", "remote", "tiktoken"}


def is_api_model(lm_class: Any) -> bool:
    """Whether an lm-eval model class talks to a server (lm-eval's TemplateAPI)."""
    from lm_eval.models.api_models import TemplateAPI  # heavy: lm-eval imports torch

    return isinstance(lm_class, type) and issubclass(lm_class, TemplateAPI)


def check_outputs(model_type: str, outputs: dict[str, str]) -> None:
    """Before any work: a chat endpoint cannot score loglikelihood benchmarks (`outputs`: benchmark ->
    its output kind); they need a completions endpoint that echoes the prompt with its log-probabilities."""
    scored = sorted(name for name, output in outputs.items() if output == "loglikelihood")
    if model_type in CHAT_ENDPOINT_TYPES and scored:
        raise BadInputError(
            f"--model {model_type} cannot run loglikelihood benchmarks ({', '.join(scored)}): a chat endpoint returns no "
            "log-probabilities of the prompt; use --model local-completions with base_url=.../v1/completions "
            "(a server that supports echo=true with logprobs: vLLM, SGLang), or run those benchmarks in-process"
        )


def _hub_host() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def hub_reachable(timeout_s: float = HUB_CHECK_TIMEOUT_S) -> bool:
    """Whether the Hugging Face Hub answers a TCP connection within timeout_s (HF_ENDPOINT honoured)."""
    try:
        with socket.create_connection(_hub_host(), timeout=timeout_s):
            return True
    except OSError:
        return False


def _hub_offline() -> bool:
    from huggingface_hub import constants  # heavy: the Hub client

    return bool(constants.HF_HUB_OFFLINE)


def _go_offline() -> None:
    """Offline mode for this process: Hub files come from the local cache, without any request."""
    from huggingface_hub import constants  # heavy: the Hub client

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True


def tokenizer_source(lm_class: Any, args: dict[str, Any]) -> str | None:
    """The Hub id an API model's tokenizer would be downloaded from, or None when none is needed (a
    local folder, or a backend that needs no Hugging Face tokenizer: the chat types' default)."""
    parameter = inspect.signature(lm_class.__init__).parameters.get("tokenizer_backend")
    default = parameter.default if parameter is not None else "huggingface"
    if str(args.get("tokenizer_backend", default)) in NO_TOKENIZER_BACKENDS:
        return None
    name = args.get("tokenizer") or args.get("model") or args.get("pretrained")
    if not name or Path(str(name)).expanduser().exists():
        return None
    return str(name)


def prepare_tokenizer(lm_class: Any, args: dict[str, Any]) -> str | None:
    """Before an API model is built: the Hub id its tokenizer will be loaded from (None: none needed).
    When the Hub is out of reach, it is switched to offline mode first (the local cache answers at once)."""
    if not is_api_model(lm_class):
        return None
    name = tokenizer_source(lm_class, args)
    if name is not None and (_hub_offline() or not hub_reachable()):
        _go_offline()
    return name


def tokenizer_hint(name: str, cause: str) -> str:
    """What to do when an API model's tokenizer `name` could not be loaded (`cause`: the error's line)."""
    why = ("the Hugging Face Hub is unreachable (or HF_HUB_OFFLINE is set) and it is not in the local cache"
           if _hub_offline() else cause[:200])
    return (f"cannot load tokenizer '{name}': {why}; pass tokenizer=/path/to/a/local/tokenizer/folder (or its Hub "
            "id) in --model_args: the served model's own tokenizer (loglikelihood benchmarks count its tokens), or "
            "tokenizer_backend=none for generation benchmarks")
