"""The errors rlkd shows users, and the one way it turns a library's exception into a one-line message.

A `ConfigError` is a problem the user must fix (a bad key, a missing file, a model that does not load); the CLI
prints its message on one line and exits with status 2. Libraries raise multi-line errors with the useful part
first, so `first_line` is what rlkd quotes from them.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config problem the user must fix; its message is one line saying what to set."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
