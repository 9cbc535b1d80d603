"""judge_reward without a model server: arguments, a server that is down, one that never answers, the key.

The real-server tests (a vLLM server of the tiny model) are in tests/integration/test_judge_vllm.py; the ones here
use real sockets on loopback for the failure modes a model server cannot be made to show on demand.
"""

import logging
import socket
import threading
import time

import pytest
import yaml

from rewards import RewardError, get_reward
from rewards.judge import parse_verdict

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
