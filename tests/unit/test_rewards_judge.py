"""judge_reward without a model server: arguments, a server that is down, one that never answers, the key.

The real-server tests (a vLLM server of the tiny model) are in tests/integration/test_judge_vllm.py; the ones here
use real sockets on loopback for the failure modes a model server cannot be made to show on demand.
"""

import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from rewards import RewardError, get_reward
from rewards.judge import parse_verdict
from tests.conftest import REPO
from tests.judge_server import BROKEN, JudgeServer

KEY_ENV = "RLKD_TEST_JUDGE_KEY"


class Metrics(dict):
    def __call__(self, name, value):
        self[name] = self.get(name, 0.0) + value


@pytest.fixture
def silent_server():
    """A loopback TCP server that accepts connections, reads, and never replies (a wedged judge)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted, conns, stop = [], [], threading.Event()

    def serve():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(time.monotonic())
            conns.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", accepted
    stop.set()
    thread.join()
    for conn in conns:
        conn.close()
    sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


@pytest.mark.parametrize(
    "args, message",
    [
        ({"base_url": "localhost:8000"}, "base_url must be an http"),  # the scheme is needed
        ({"prompt_template": "Is {answer} right?"}, "must contain {answer} and {solution}"),
        ({"api_key_env": "RLKD_SURELY_UNSET_VAR"}, "'RLKD_SURELY_UNSET_VAR', which is not set"),
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"extra_body": ["x"]}, "extra_body must be a mapping"),
        ({"temprature": 0.0}, r"bad args \['temprature'\]"),  # a typo is not silently ignored
    ],
)
def test_bad_args_are_config_errors(args, message):
    with pytest.raises(RewardError, match=message):
        get_reward("judge", **args)


def test_server_down_gives_none_and_counts(caplog):
    judge = get_reward("judge", base_url=f"http://127.0.0.1:{_closed_port()}/v1", model="m", retries=1)
    metrics = Metrics()
    with caplog.at_level(logging.WARNING):
        scores = judge(completions=["a", "b", "a"], solution=["1", "1", "1"], thinking=[False] * 3, log_metric=metrics)
    assert scores == [None, None, None]
    assert metrics["rewards/judge/errors"] == 3.0  # every sample that got no verdict
    assert "Connection refused" in caplog.text or "ConnectionRefused" in caplog.text


def test_server_down_during_model_discovery(caplog):
    judge = get_reward("judge", base_url=f"http://127.0.0.1:{_closed_port()}/v1", retries=0)  # model from /models
    metrics = Metrics()
    assert judge(completions=["a"], solution=["1"], thinking=[False], log_metric=metrics) == [None]
    assert metrics["rewards/judge/errors"] == 1.0


def test_a_server_that_never_answers_times_out_and_is_retried(silent_server):
    url, accepted = silent_server
    judge = get_reward("judge", base_url=url, model="m", timeout=0.5, retries=1)
    metrics = Metrics()
    start = time.monotonic()
    assert judge(completions=["a"], solution=["1"], thinking=[False], log_metric=metrics) == [None]
    elapsed = time.monotonic() - start
    assert len(accepted) == 2  # the first attempt and one retry
    assert 1.0 <= elapsed < 5.0  # two 0.5 s timeouts and a 0.5 s backoff; never a hang
    assert metrics["rewards/judge/errors"] == 1.0


def test_the_key_is_sent_from_the_env_and_stays_out_of_the_config(monkeypatch, tmp_path):
    from rlkd.config import dump_yaml, load_config

    monkeypatch.setenv(KEY_ENV, "sk-secret-123")
    raw = {
        "model": {"name_or_path": "unused"},
        "data": {"generator": "arithmetic"},
        "rewards": [{"name": "judge", "args": {"api_key_env": KEY_ENV, "base_url": "http://127.0.0.1:1/v1"}}],
    }
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump(raw))
    resolved = dump_yaml(load_config(path))
    assert KEY_ENV in resolved and "sk-secret-123" not in resolved  # only the variable's name is recorded


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("yes", 1.0),
        ("No.", 0.0),  # punctuation and case do not matter
        ("**Yes** - they are equal", 1.0),  # markdown around the verdict
        ("<think>is it? no wait</think>\nyes", 1.0),  # a reasoning judge: the verdict follows </think>
        ("Yesterday", None),  # a word that starts like yes is not yes
        ("I think no", None),  # the verdict must come first
        ("", None),  # an empty reply
        (None, None),  # no content at all
    ],
)
def test_parse_verdict(reply, expected):
    assert parse_verdict(reply) == expected


def test_no_final_answer_scores_zero_without_a_call():
    # the server is down, yet nothing fails: unfinished reasoning and empty answers need no judge
    judge = get_reward("judge", base_url=f"http://127.0.0.1:{_closed_port()}/v1", model="m", retries=0)
    metrics, extra = Metrics(), {}
    scores = judge(
        completions=["<think>still thinking", "<think>r</think>  "],
        solution=["1", "1"],
        thinking=[True, True],
        log_metric=metrics,
        log_extra=lambda column, values: extra.setdefault(column, []).extend(values),
    )
    assert scores == [0.0, 0.0] and metrics["rewards/judge/errors"] == 0.0
    assert extra == {"judge_reply": [None, None]}  # one value per sample, so TRL's completions table lines up


# ---------------------------------------------------------------------------------------------------------------
# A judge server that misbehaves on cue (tests/judge_server.py): real sockets on loopback, the protocol broken by hand.


@pytest.fixture
def judge_server():
    server = JudgeServer()
    yield server
    server.close()


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_a_broken_reply_is_retried_and_counted(judge_server, fault):
    judge_server.plans = {"1": [fault]}  # the first request for answer "1" is broken, the retry is fine
    judge = get_reward("judge", base_url=judge_server.url, model="m", retries=1, timeout=5)
    metrics = Metrics()
    assert judge(completions=["1"], solution=["1"], thinking=[False], log_metric=metrics) == [1.0]
    assert judge_server.requests == ["1", "1"]  # asked again
    assert metrics["rewards/judge/retries"] == 1.0 and metrics["rewards/judge/errors"] == 0.0


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_one_bad_response_does_not_discard_the_batch(judge_server, fault, caplog):
    judge_server.plans = {"1": [fault] * 3}  # always broken: more failures than retries
    judge = get_reward("judge", base_url=judge_server.url, model="m", retries=2, timeout=5)
    metrics = Metrics()
    with caplog.at_level(logging.WARNING):
        scores = judge(completions=["1", "2", "3"], solution=["1"] * 3, thinking=[False] * 3, log_metric=metrics)
    assert scores == [None, 1.0, 1.0]  # the samples judged keep their verdicts
    assert judge_server.requests.count("1") == 3  # bounded: 1 + retries attempts for the bad sample
    assert metrics["rewards/judge/errors"] == 1.0 and metrics["rewards/judge/retries"] == 2.0
    assert "Traceback" not in caplog.text and "its samples get None" in caplog.text


@pytest.mark.parametrize("where", ["trickle-head", "trickle-body"])
def test_a_trickling_server_is_cut_at_the_request_deadline(judge_server, where):
    # A byte every 2 s never trips a 3 s socket timeout; the deadline is per attempt, connect to last byte.
    judge_server.plans = {"1": [where] * 2}
    judge = get_reward("judge", base_url=judge_server.url, model="m", retries=1, timeout=3)
    metrics = Metrics()
    start = time.monotonic()
    assert judge(completions=["1"], solution=["1"], thinking=[False], log_metric=metrics) == [None]
    elapsed = time.monotonic() - start
    assert 5.5 <= elapsed < 9.0  # two 3 s attempts and a 0.5 s backoff (a socket timeout alone: forever)
    assert metrics["rewards/judge/errors"] == 1.0 and metrics["rewards/judge/retries"] == 1.0


def test_the_batch_deadline_keeps_what_was_judged(judge_server):
    judge_server.plans = {"1": ["trickle-body"]}
    judge = get_reward("judge", base_url=judge_server.url, model="m", retries=0, timeout=60, batch_deadline=2)
    metrics = Metrics()
    start = time.monotonic()
    scores = judge(completions=["1", "2", "3"], solution=["1"] * 3, thinking=[False] * 3, log_metric=metrics)
    assert time.monotonic() - start < 4.0  # the batch deadline, not the request's 60 s
    assert scores == [None, 1.0, 1.0]
    assert metrics["rewards/judge/abandoned"] == 1.0 and metrics["rewards/judge/errors"] == 1.0


def test_an_abandoned_request_does_not_delay_exit(judge_server):
    # A process that gave up on a trickling request at the batch deadline exits at once: the request runs in a
    # daemon thread (a ThreadPoolExecutor's workers are joined at exit, which waited for the request's timeout).
    judge_server.plans = {"1": ["trickle-head"]}
    script = (
        "import time; from rewards import get_reward; "
        f"judge = get_reward('judge', base_url='{judge_server.url}', model='m', retries=0, timeout=60, "
        "batch_deadline=1); "
        "t = time.monotonic(); print(judge(completions=['1'], solution=['1'], thinking=[False])); "
        "print(round(time.monotonic() - t, 1))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=90
    )
    total = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores, call = proc.stdout.split("\n")[:2]
    assert scores == "[None]" and float(call) < 3.0
    assert total < 30.0  # start-up (imports) + the 1 s batch deadline; a joined worker would wait out the 60 s
