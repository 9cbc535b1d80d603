"""The errors rlkd shows users, the one way it turns a library's exception into a one-line message, and the one
scrubber of secrets from every message and log line.

A `ConfigError` is a problem the user must fix (a bad key, a missing file, a model that does not load); the CLI
prints its message on one line and exits with status 2. Libraries raise multi-line errors with the useful part
first, so `first_line` is what rlkd quotes from them.

Secrets: a judge's `base_url` may carry credentials (`https://user:pass@host`, `?key=...`) and a key may be pasted
into `api_key_env` by mistake. `redact` masks the credentials of every URL in a text (rewards.http_client) and every
secret value `remember_secret` was told (the config loader tells it each one it finds, and the values of the
variables `api_key_env` names); `RedactingFilter` applies it to every log record on the CLI's handlers, and the
config written to disk and to W&B is redacted (rlkd.config.loader.to_dict).
"""

from __future__ import annotations

import logging
import re

_SECRETS: set[str] = set()  # the process's known secret values; only ever grows
_MIN_SECRET = 8  # shorter values are not masked as literals: masking "pass" everywhere would garble "passrate"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """A config problem the user must fix; its message is one line saying what to set."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def remember_secret(value: object) -> None:
    if isinstance(value, str) and len(value) >= _MIN_SECRET:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """`text` with URL credentials and every remembered secret masked as ***."""
    from rewards.http_client import redact_urls

    text = redact_urls(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before a handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
