"""A model server's failure as one line: the HTTP status, the server's own reply (scrubbed of keys) and
what to try. lm-eval's API models log the reply and raise `500 Server Error ...` without it; this reads
the reply from lm-eval's log record while a benchmark runs."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from typing import Iterator

from evalsuite.errors import EvalsuiteError, exception_chain, scrub_secrets
from evalsuite.models.loader import LoadedModel
from evalsuite.models.served import is_api_model

API_LOGGER = "lm_eval.models.api_models"
MAX_REPLY_CHARS = 300
# lm-eval's log lines that carry the server's reply (requests path, then the aiohttp path)
_REPLY = re.compile(r"API request failed(?: with error message: |! Status code: \d+, Response text: )(.*)\. Retrying\.\.\.$",
                    re.S)
CREDENTIAL_ARGS = ("api_key", "auth_token", "token", "key")

ENDPOINT_HINT = ("base_url must name the endpoint itself: http://HOST:PORT/v1/completions for local-completions, "
                 "http://HOST:PORT/v1/chat/completions for local-chat-completions")
LOGLIKELIHOOD_HINT = ("a loglikelihood benchmark sends the prompt with echo=true, logprobs=1, max_tokens=1 and reads the "
                      "prompt's token log-probabilities: the server must support that (vLLM, SGLang); a server that "
                      "takes no token ids needs tokenized_requests=False (with tokenizer=), and one that takes one "
                      "prompt per request --batch_size 1")
GENERATE_HINT = ("check the model name (model=), that prompt plus max_gen_toks fit the served context, and --batch_size 1 "
                 "(one prompt per request) with num_concurrent= for parallel requests")


class _LastReply(logging.Handler):
    """Keeps the last server reply lm-eval logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reply: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        match = _REPLY.search(record.getMessage())
        if match:
            self.reply = match.group(1)


def _one_line(text: str, secrets: list[str]) -> str:
    line = " ".join(scrub_secrets(text, secrets).split())
    return line if len(line) <= MAX_REPLY_CHARS else line[:MAX_REPLY_CHARS] + "..."


def _status_hint(status: int, output: str) -> str:
    if status == 404:
        return ENDPOINT_HINT
    if status in (401, 403):
        return "the server wants a key: set OPENAI_API_KEY (sent as a Bearer token)"
    if status == 429:
        return "the server is rate limiting: lower num_concurrent= in --model_args"
    return LOGLIKELIHOOD_HINT if output == "loglikelihood" else GENERATE_HINT


def explain(err: BaseException, reply: str | None, base_url: str, output: str, secrets: list[str]) -> str | None:
    """One line for an HTTP failure of a model server (None: not one)."""
    import aiohttp  # heavy: lm-eval's API extra
    import requests

    for cause in exception_chain(err):
        status = None
        if isinstance(cause, requests.HTTPError) and cause.response is not None:
            status, reply = cause.response.status_code, reply or cause.response.text
        elif isinstance(cause, aiohttp.ClientResponseError):
            status, reply = cause.status, reply or cause.message
        elif isinstance(cause, (requests.ConnectionError, aiohttp.ClientConnectionError, ConnectionError)):
            return (f"cannot reach the model server at {base_url}: {_one_line(str(cause), secrets)} "
                    f"(is it running and listening there? {ENDPOINT_HINT})")
        elif isinstance(cause, (requests.Timeout, TimeoutError)):
            return (f"the model server at {base_url} did not answer in time: raise timeout= in --model_args "
                    "(seconds) or lower num_concurrent=")
        if status is not None:
            said = f": {_one_line(reply, secrets)}" if reply and reply.strip() else " (an empty reply)"
            return f"the model server at {base_url} answered HTTP {status}{said} ({_status_hint(status, output)})"
    return None


def _secrets(model: LoadedModel) -> list[str]:
    values = [os.environ.get("OPENAI_API_KEY", "")]
    values += [str(value) for key, value in model.args.items() if key.lower() in CREDENTIAL_ARGS]
    return [value for value in values if value]


@contextlib.contextmanager
def server_errors(model: LoadedModel | None, output: str) -> Iterator[None]:
    """While a benchmark runs on a model behind a server: an HTTP failure becomes an EvalsuiteError
    naming the status, the server's reply and a hint (`output`: the benchmark's request kind)."""
    if model is None or not is_api_model(type(model.lm)):
        yield
        return
    logger = logging.getLogger(API_LOGGER)
    handler = _LastReply()
    level, propagate = logger.level, logger.propagate
    if logger.getEffectiveLevel() > logging.WARNING:  # lm-eval's logs are off: read them, print nothing
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    logger.addHandler(handler)
    try:
        yield
    except Exception as err:
        line = explain(err, handler.reply, str(getattr(model.lm, "base_url", "") or model.args.get("base_url")),
                       output, _secrets(model))
        if line is None:
            raise
        raise EvalsuiteError(line) from err
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
