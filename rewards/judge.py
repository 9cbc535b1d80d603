"""The LLM-judge reward: the Llama-Nemotron recipe's accuracy judge, asked over an OpenAI-compatible chat endpoint.

For answers math-verify cannot compare (prose, units, multiple parts), the paper asks a judge model whether the
final answer matches the reference. Any server speaking `/v1/chat/completions` works (`vllm serve`, SGLang, a
hosted API). The judge sees the mode-aware final answer (the text after </think>, as the accuracy reward does);
an unfinished reasoning (thinking on, no </think>) or an empty answer scores 0.0 without a call.

    judge = make_judge_reward(base_url="http://127.0.0.1:8000/v1", model="Llama-3.3-70B-Instruct",
                              api_key_env="JUDGE_API_KEY", concurrency=32)

- the verdict is the first word of the reply (after any </think>): yes → 1.0, no → 0.0, anything else → None;
- a failed call (connection refused, timeout, HTTP error after `retries`) yields None for its samples and is
  counted (`rewards/judge/errors`), never an exception: TRL skips those samples and the run goes on;
- the API key is read from the environment variable named by `api_key_env` when a request is sent; the config
  holds only the variable's name, and the key appears in no log and no error message;
- each distinct question/reference/answer is asked once per batch; at most `concurrency` requests are in flight.

Only the standard library is used (urllib and a thread pool), so rewards/ needs no HTTP client dependency.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rewards.errors import RewardError
from rewards.text import THINK_CLOSE, completion_text, final_answers

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = """You are grading a student's final answer against the reference answer.

Problem:
{question}

Reference answer:
{solution}

Student's final answer:
{answer}

Is the student's final answer equivalent to the reference answer? Reply with one word: yes or no."""
PLACEHOLDERS = ("{question}", "{solution}", "{answer}")
_FIRST_WORD = re.compile(r"\W*([A-Za-z]+)")
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
_MAX_BACKOFF_S = 8.0


class _CallFailed(Exception):
    """A request that failed for good; the message is safe to log (no headers, no key)."""


def make_judge_reward(
    base_url: str = "http://127.0.0.1:8000/v1",
    model: str | None = None,
    prompt_template: str = DEFAULT_TEMPLATE,
    system_prompt: str | None = None,
    api_key_env: str | None = None,
    concurrency: int = 8,
    timeout: float = 60.0,
    retries: int = 2,
    max_tokens: int = 16,
    temperature: float = 0.0,
    extra_body: dict[str, Any] | None = None,
):
    """A judge reward. `model` None: the first model the server lists at /models (what `vllm serve` runs).

    prompt_template: the user message; {question}, {solution} and {answer} are replaced (no other braces are
    special, so LaTeX in a template needs no escaping). extra_body: more request fields, e.g.
    `{"chat_template_kwargs": {"enable_thinking": false}}` or vLLM's
    `{"structured_outputs": {"choice": ["yes", "no"]}}`.
    timeout: seconds per request (socket timeout); retries: further attempts after a connection error, a timeout,
    or HTTP 408/409/429/5xx, with exponential backoff.
    """
    _check_args(base_url, prompt_template, api_key_env, concurrency, timeout, retries, max_tokens, extra_body)
    client = _Client(base_url.rstrip("/"), api_key_env, timeout, retries)
    state = {"model": model, "errors": 0, "unparsed": 0, "warned": False}

    def judge_reward(
        completions: Sequence[Any],
        solution: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        thinking: Sequence[Any] | None = None,
        log_extra=None,
        **_,
    ) -> list[float | None]:
        n = len(completions)
        answers = final_answers(completions, solution, prompts, thinking)
        out: list[float | None] = [None] * n
        asks: dict[str, list[int]] = {}  # the rendered question -> the samples it decides
        for i, answer in enumerate(answers):
            if answer is None or not answer.strip():
                out[i] = 0.0
                continue
            question = _question(prompts[i]) if prompts is not None else ""
            content = _render(prompt_template, question, "" if solution[i] is None else str(solution[i]), answer)
            asks.setdefault(content, []).append(i)
        replies = (
            _ask_all(client, state, list(asks), system_prompt, max_tokens, temperature, extra_body, concurrency)
            if asks
            else []
        )
        raw: list[str | None] = [None] * n  # the judge's replies, for TRL's completions table
        for indices, reply in zip(asks.values(), replies):
            if isinstance(reply, _CallFailed):
                state["errors"] += len(indices)
                if not state["warned"]:
                    logger.warning("judge: a request failed (%s); its samples get None (counted as errors)", reply)
                    state["warned"] = True
                continue
            verdict = parse_verdict(reply)
            if verdict is None:
                state["unparsed"] += len(indices)
            for i in indices:
                out[i], raw[i] = verdict, reply
        if log_extra is not None:
            log_extra("judge_reply", raw)
        return out

    def take_metrics() -> dict[str, float]:
        metrics = {"errors": float(state["errors"]), "unparsed": float(state["unparsed"])}
        state["errors"] = state["unparsed"] = 0
        return metrics

    judge_reward.take_metrics = take_metrics
    return judge_reward


def parse_verdict(reply: str | None) -> float | None:
    """yes → 1.0, no → 0.0 (the first word after any reasoning, any case); anything else → None."""
    if not reply:
        return None
    text = reply[reply.rfind(THINK_CLOSE) + len(THINK_CLOSE) :] if THINK_CLOSE in reply else reply
    word = _FIRST_WORD.match(text)
    verdict = word.group(1).lower() if word else ""
    return 1.0 if verdict == "yes" else 0.0 if verdict == "no" else None


def _check_args(base_url, template, api_key_env, concurrency, timeout, retries, max_tokens, extra_body) -> None:
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise RewardError(f"judge: base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
    if not isinstance(template, str) or "{answer}" not in template or "{solution}" not in template:
        raise RewardError("judge: prompt_template must contain {answer} and {solution} (and may use {question})")
    if api_key_env is not None and not os.environ.get(api_key_env):
        raise RewardError(f"judge: api_key_env names '{api_key_env}', which is not set in the environment")
    for name, value, low in (("concurrency", concurrency, 1), ("retries", retries, 0), ("max_tokens", max_tokens, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise RewardError(f"judge: {name} must be an integer >= {low}, got {value!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise RewardError(f"judge: timeout must be a positive number of seconds, got {timeout!r}")
    if extra_body is not None and not isinstance(extra_body, dict):
        raise RewardError(f"judge: extra_body must be a mapping of request fields, got {type(extra_body).__name__}")


def _question(prompt: Any) -> str:
    """The problem statement: a plain prompt, or the last user message of a conversational one."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return completion_text(users[-1]) if users else ""
    return ""


def _render(template: str, question: str, solution: str, answer: str) -> str:
    # One pass over the template, so a placeholder inside a substituted value is left alone.
    parts = re.split(r"(\{question\}|\{solution\}|\{answer\})", template)
    values = dict(zip(PLACEHOLDERS, (question, solution, answer.strip())))
    return "".join(values.get(part, part) for part in parts)


def _ask_all(client, state, contents, system_prompt, max_tokens, temperature, extra_body, concurrency) -> list:
    """One reply (or _CallFailed) per content, at most `concurrency` requests in flight."""
    if state["model"] is None:
        try:
            state["model"] = client.first_model()
        except _CallFailed as e:
            return [e] * len(contents)

    def ask(content: str) -> str | _CallFailed:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": content}
        ]
        body = {"model": state["model"], "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        body.update(extra_body or {})
        try:
            reply = client.post("/chat/completions", body)
            return reply["choices"][0]["message"].get("content") or ""
        except _CallFailed as e:
            return e
        except (KeyError, IndexError, TypeError, AttributeError):
            return _CallFailed("the reply has no choices[0].message")

    with ThreadPoolExecutor(max_workers=min(concurrency, len(contents)), thread_name_prefix="rlkd-judge") as pool:
        return list(pool.map(ask, contents))


class _Client:
    """A minimal JSON-over-HTTP client for an OpenAI-compatible server: retries, backoff, a key from the env."""

    def __init__(self, base_url: str, api_key_env: str | None, timeout: float, retries: int):
        self.base_url, self.api_key_env, self.timeout, self.retries = base_url, api_key_env, timeout, retries

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def first_model(self) -> str:
        reply = self._request(urllib.request.Request(self.base_url + "/models", headers=self._headers()))
        try:
            return reply["data"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise _CallFailed(f"{self.base_url}/models lists no model; set the judge's model") from None

    def post(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        return self._request(urllib.request.Request(self.base_url + path, data=data, headers=self._headers()))

    def _request(self, request: urllib.request.Request) -> dict:
        where = f"{request.get_method()} {request.full_url}"
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as e:
                error = _CallFailed(f"{where}: HTTP {e.code} {e.reason}")
                if e.code not in _RETRY_STATUS:
                    raise error from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                error = _CallFailed(f"{where}: {type(reason).__name__}: {reason}")
            except json.JSONDecodeError:
                raise _CallFailed(f"{where}: the reply is not JSON") from None
            if attempt < self.retries:
                time.sleep(min(_MAX_BACKOFF_S, 0.5 * 2**attempt))
        raise error


judge_reward = make_judge_reward()
