"""The LLM-judge reward: the Llama-Nemotron recipe's accuracy judge, asked over an OpenAI-compatible chat endpoint.

For answers math-verify cannot compare (prose, units, multiple parts), the paper asks a judge model whether the
final answer matches the reference. Any server speaking `/v1/chat/completions` works (`vllm serve`, SGLang, a
hosted API). The judge sees the mode-aware final answer (the text after </think>, as the accuracy reward does);
an unfinished reasoning (thinking on, no </think>) or an empty answer scores 0.0 without a call.

    judge = make_judge_reward(base_url="http://127.0.0.1:8000/v1", model="Llama-3.3-70B-Instruct",
                              api_key_env="JUDGE_API_KEY", concurrency=32)

- the verdict is the first word of the reply (after any </think>): yes → 1.0, no → 0.0, anything else → None;
- each request attempt has a total deadline (`timeout`, connect + the whole reply) and each batch one too
  (`batch_deadline`); a broken reply (closed mid-way, a garbage status line, a body that is not UTF-8 or JSON,
  content that is not a string) is retried like a timeout (rewards/http_client.py);
- a call that fails for good yields None for its samples only, counted (`rewards/judge/errors`; retries as
  `rewards/judge/retries`, samples cut by the batch deadline as `rewards/judge/abandoned`), never an exception: the
  samples already judged keep their verdicts, TRL skips the others and the run goes on;
- requests run in daemon threads: one abandoned at the batch deadline never delays the process's exit;
- the API key is read from the environment variable named by `api_key_env` when a request is sent; the config
  holds only the variable's name, and the key appears in no log and no error message; credentials in `base_url`
  (`user:pass@`, `?key=`) are used, and masked in every message;
- each distinct question/reference/answer is asked once per batch; at most `concurrency` requests are in flight.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import urllib.parse
from collections.abc import Sequence
from typing import Any

from rewards.errors import RewardError
from rewards.http_client import BadReply, CallFailed, Client, redact_url
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
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Below the reward wrapper's default batch_timeout (600 s), so the judge returns the verdicts it has before the
# wrapper gives up on the whole batch.
DEFAULT_BATCH_DEADLINE_S = 300.0


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
    batch_deadline: float = DEFAULT_BATCH_DEADLINE_S,
):
    """A judge reward. `model` None: the first model the server lists at /models (what `vllm serve` runs).

    prompt_template: the user message; {question}, {solution} and {answer} are replaced (no other braces are
    special, so LaTeX in a template needs no escaping). extra_body: more request fields, e.g.
    `{"chat_template_kwargs": {"enable_thinking": false}}` or vLLM's
    `{"structured_outputs": {"choice": ["yes", "no"]}}`.
    timeout: seconds for one attempt of a request, connect to last byte; retries: further attempts after a
    connection error, a timeout, a broken reply, or HTTP 408/409/429/5xx, with exponential backoff.
    batch_deadline: seconds for one batch; samples still waiting then get None (keep it below the reward's
    `batch_timeout`, after which the whole batch would).
    """
    _check_args(base_url, prompt_template, api_key_env, concurrency, timeout, retries, max_tokens, extra_body)
    if isinstance(batch_deadline, bool) or not isinstance(batch_deadline, (int, float)) or not batch_deadline > 0:
        raise RewardError(f"judge: batch_deadline must be a positive number of seconds, got {batch_deadline!r}")
    lock = threading.Lock()
    state = {"model": model, "errors": 0, "unparsed": 0, "retries": 0, "abandoned": 0, "warned": False}

    def count(key: str, n: int = 1) -> None:
        with lock:
            state[key] += n

    client = Client(
        base_url,
        key=lambda: os.environ.get(api_key_env) if api_key_env else None,
        timeout=timeout,
        retries=retries,
        on_retry=lambda reason: count("retries"),
    )

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
        discover, ask = _asker(client, state, system_prompt, max_tokens, temperature, extra_body)
        replies = _ask_all(discover, ask, list(asks), concurrency, batch_deadline) if asks else []
        raw: list[str | None] = [None] * n  # the judge's replies, for TRL's completions table
        for indices, reply in zip(asks.values(), replies):
            if isinstance(reply, CallFailed):
                count("errors", len(indices))
                if isinstance(reply, _Abandoned):
                    count("abandoned", len(indices))
                if not state["warned"]:
                    logger.warning("judge: a request failed (%s); its samples get None (counted as errors)", reply)
                    state["warned"] = True
                continue
            verdict = parse_verdict(reply)
            if verdict is None:
                count("unparsed", len(indices))
            for i in indices:
                out[i], raw[i] = verdict, reply
        if log_extra is not None:
            log_extra("judge_reply", raw)
        return out

    def take_metrics() -> dict[str, float]:
        keys = ("errors", "unparsed", "retries", "abandoned")
        with lock:
            metrics = {key: float(state[key]) for key in keys}
            state.update(dict.fromkeys(keys, 0))
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
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")) or not _has_host(base_url):
        shown = redact_url(base_url) if isinstance(base_url, str) else repr(base_url)
        raise RewardError(f"judge: base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {shown}")
    if not isinstance(template, str) or "{answer}" not in template or "{solution}" not in template:
        raise RewardError("judge: prompt_template must contain {answer} and {solution} (and may use {question})")
    if api_key_env is not None and (not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)):
        # never echoed: what is pasted here by mistake is usually the key itself
        raise RewardError(
            "judge: api_key_env must be the NAME of an environment variable holding the key (e.g. JUDGE_API_KEY), "
            "not the key itself: put the key in a variable and name it here"
        )
    if api_key_env is not None and not os.environ.get(api_key_env):
        raise RewardError(f"judge: api_key_env names '{api_key_env}', which is not set in the environment")
    for name, value, low in (("concurrency", concurrency, 1), ("retries", retries, 0), ("max_tokens", max_tokens, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise RewardError(f"judge: {name} must be an integer >= {low}, got {value!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise RewardError(f"judge: timeout must be a positive number of seconds, got {timeout!r}")
    if extra_body is not None and not isinstance(extra_body, dict):
        raise RewardError(f"judge: extra_body must be a mapping of request fields, got {type(extra_body).__name__}")


def _has_host(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        return bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number
        return False


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


class _Abandoned(CallFailed):
    """A request still running at the batch deadline; its thread is a daemon, left to end on its own deadline."""


def _asker(client: Client, state: dict, system_prompt, max_tokens, temperature, extra_body):
    """(discover, ask): find the model once; ask(content) -> the judge's reply text, or CallFailed."""

    def ask(content: str) -> str | CallFailed:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": content}
        ]
        body = {"model": state["model"], "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        body.update(extra_body or {})
        try:
            return client.request("/chat/completions", body, parse=_reply_content)
        except CallFailed as e:
            return e

    def discover() -> CallFailed | None:
        """The judge model, asked of the server once (`model` None: the first it lists, what `vllm serve` runs)."""
        if state["model"] is None:
            try:
                state["model"] = client.request("/models", parse=_first_model)
            except CallFailed as e:
                return e
        return None

    return discover, ask


def _first_model(reply: Any) -> str:
    try:
        model = reply["data"][0]["id"]
    except (KeyError, IndexError, TypeError):
        raise BadReply("/models lists no model; set the judge's model") from None
    if not isinstance(model, str):
        raise BadReply("/models lists a model id that is not a string")
    return model


def _reply_content(reply: Any) -> str:
    """choices[0].message.content of a chat completion: a string (None or absent reads as no reply, "")."""
    try:
        content = reply["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise BadReply("the reply has no choices[0].message") from None
    if content is None:
        return ""
    if not isinstance(content, str):
        raise BadReply(f"the reply's content is a {type(content).__name__}, not a string")
    return content


def _ask_all(discover, ask, contents: list[str], concurrency: int, deadline: float) -> list:
    """One reply (or CallFailed) per content, `discover()` first, then at most `concurrency` requests in flight,
    all within `deadline` seconds. Workers are daemon threads: those still running at the deadline are abandoned
    (their contents get _Abandoned) and cannot delay the process's exit; each ends by itself once its request's own
    deadline passes."""
    results: list = [None] * len(contents)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(contents)):
        todo.put(i)
    lock, done, stop = threading.Lock(), threading.Event(), threading.Event()
    left = [len(contents)]

    def work() -> None:
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            reply = ask(contents[i])
            with lock:
                results[i] = reply
                left[0] -= 1
                if left[0] == 0:
                    done.set()

    def start() -> None:
        failed = discover()
        if failed is not None:
            with lock:
                results[:] = [failed] * len(contents)
            done.set()
            return
        for _ in range(min(concurrency, len(contents))):
            threading.Thread(target=work, name="rlkd-judge", daemon=True).start()

    threading.Thread(target=start, name="rlkd-judge", daemon=True).start()
    done.wait(deadline)
    with lock:
        stop.set()
        late = _Abandoned(f"no verdict within the batch deadline ({deadline:g} s)")
        return [late if r is None else r for r in results]


judge_reward = make_judge_reward()
