"""Fast, clear failures (issue 13, item 9): a mistyped local model path fails in seconds, a Hub id is looked up
once with a short timeout, `rlkd validate` makes every check `rlkd train` makes, and plug-ins in the working
directory import without PYTHONPATH.

The inputs that broke it: `model.name_or_path: runs/nothing` was taken for a Hub id and failed after ~55 s with a
connection error; validate passed a curriculum reward missing from the rewards, a pass-rate file made for other
data and an output dir that already held checkpoints, all of which train then refused; `plugins: [my_rewards]`
needed `PYTHONPATH=.` under the `rlkd` script."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from rlkd.commands.validate import validate
from rlkd.config import ConfigError
from tests.conftest import REPO


def _online_env(endpoint: str) -> dict:
    """The environment of a user with a network: offline mode off, the Hub at `endpoint` (a local server here)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_ENDPOINT": endpoint}
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(key, None)
    return env


class _Hub:
    """A local stand-in for the Hub: `silent` accepts connections and never answers (a black-holed network);
    otherwise every request gets the Hub's 404 for an unknown repository. Records the model look-ups
    (huggingface_hub also fetches a registry of its own, which is not rlkd's doing)."""

    def __init__(self, silent: bool):
        self.paths: list[str] = []
        if silent:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(16)
            self.port = self.sock.getsockname()[1]
            self.held = []
            threading.Thread(target=self._hold, daemon=True).start()
        else:
            hub = self

            class NotFound(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    hub.paths.append(self.path)
                    body = json.dumps({"error": "Repository Not Found"}).encode()
                    self.send_response(404)
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                do_HEAD = do_GET

                def log_message(self, *args):
                    pass

            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _hold(self):
        while True:
            conn, _ = self.sock.accept()
            self.held.append(conn)
            threading.Thread(target=self._read_request_line, args=(conn,), daemon=True).start()

    def _read_request_line(self, conn):
        line = conn.makefile("rb").readline().decode(errors="replace").split()
        if len(line) > 1:
            self.paths.append(line[1])

    @property
    def model_lookups(self) -> list[str]:
        return [p for p in self.paths if "nothing" in p]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _validate(cwd, model, env, *extra):
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "validate", str(REPO / "configs" / "tiny-cpu.yaml"),
         f"model.name_or_path={model}", f"grpo.output_dir={cwd}/out", *extra],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return proc, time.monotonic() - start


def test_a_local_looking_missing_path_fails_without_asking_the_hub(tmp_path):
    hub = _Hub(silent=True)
    (tmp_path / "runs").mkdir()  # `runs/` exists here, so runs/nothing can only be a path
    proc, seconds = _validate(tmp_path, "runs/nothing", _online_env(hub.url))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        f"model.name_or_path: no model directory at 'runs/nothing' (relative paths resolve against the working "
        f"directory, {tmp_path})" in proc.stderr
    )
    assert hub.model_lookups == []  # no Hub look-up at all
    assert seconds < 60, seconds  # import time on a shared box; the Hub's timeout never comes into it


def test_an_unreachable_hub_fails_after_one_short_timeout(tmp_path):
    from rlkd.model import HUB_TIMEOUT_S

    hub = _Hub(silent=True)
    proc, seconds = _validate(tmp_path, "nobody/nothing", _online_env(hub.url))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"could not be reached within {HUB_TIMEOUT_S:.0f} s" in proc.stderr
    assert hub.model_lookups == ["/api/models/nobody/nothing"]  # one look-up, not a retry loop
    assert HUB_TIMEOUT_S <= seconds < HUB_TIMEOUT_S + 60, seconds


def test_an_unknown_hub_id_says_so(tmp_path):
    hub = _Hub(silent=False)
    proc, _ = _validate(tmp_path, "nobody/nothing", _online_env(hub.url))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'nobody/nothing' is not a local directory" in proc.stderr and "nor a model on the Hub" in proc.stderr


def test_plugins_in_the_working_directory_import_without_pythonpath(tmp_path, tiny_model_dir):
    # `python -P` does not put the working directory on sys.path, as the installed `rlkd` script does not
    (tmp_path / "my_local_rewards.py").write_text(
        "from rewards import register_reward\n\n\n@register_reward('local_brevity')\ndef make(**kw):\n"
        "    def local_brevity(completions, **kwargs):\n        return [1.0] * len(completions)\n\n"
        "    return local_brevity\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "rlkd.cli", "validate", str(REPO / "configs" / "tiny-cpu.yaml"),
         f"model.name_or_path={tiny_model_dir}", f"grpo.output_dir={tmp_path}/out", "plugins=[my_local_rewards]",
         "rewards=[{name: accuracy}, {name: local_brevity, weight: 0.1}]"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "local_brevity (weight 0.1)" in proc.stdout


# ---------------------------------------------------------------------------------------------------------------
# validate makes train's checks


def _with(tiny_config, tmp_path, **changes):
    raw = yaml.safe_load(tiny_config.read_text())
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_validate_refuses_a_curriculum_reward_that_is_not_a_reward(tiny_config, tmp_path):
    config = _with(tiny_config, tmp_path, curriculum={"name": "online", "reward": "judge"})
    with pytest.raises(ConfigError, match=r"curriculum.reward 'judge' is not one of the run's rewards"):
        validate(config)


def test_validate_refuses_a_pass_rate_file_for_other_data(tiny_config, tmp_path):
    rates = tmp_path / "other.jsonl"
    rates.write_text(json.dumps({"prompt_key": "not-this-data", "pass_rate": 0.5}) + "\n")
    config = _with(tiny_config, tmp_path, curriculum={"name": "gaussian", "pass_rates": str(rates)})
    with pytest.raises(ConfigError, match=r"train prompts have no pass rate in .*rerun `rlkd passrate`"):
        validate(config)


def test_validate_refuses_an_output_dir_with_checkpoints(tiny_config, tmp_path):
    out = yaml.safe_load(tiny_config.read_text())["grpo"]["output_dir"]
    (tmp_path / "run" / "checkpoint-2").mkdir(parents=True)
    assert out == str(tmp_path / "run")
    with pytest.raises(ConfigError, match=r"already holds checkpoints \(latest: checkpoint-2\): pass --resume"):
        validate(str(tiny_config))
