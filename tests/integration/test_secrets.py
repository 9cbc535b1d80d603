"""Planted secrets never reach a file a run writes, a log line or a message.

A real `rlkd train` (tiny model, W&B offline) with a judge reward whose base_url carries a password and a `?key=`
query (given as a command-line override, so W&B's record of the command line sees them too) and whose key comes
the documented way (`api_key_env`); the judge is a local HTTP server that checks it receives them, and fails its
first request so the judge logs the URL. Then every byte of every file under the output dir (config.resolved.yaml,
metrics.jsonl, checkpoints, the W&B offline run: its .wandb log with the config and the command line, its debug
logs) and the process's stdout and stderr are searched for each secret. Last, a key pasted into `api_key_env` is
not echoed.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.conftest import rlkd_train

PASSWORD, QUERY_KEY, ENV_KEY, PASTED = "pw-Planted-7f3a1", "qk-Planted-9c2e4", "env-Planted-5b8d2", "sk-Pasted-0e6f9"
SECRETS = (PASSWORD, QUERY_KEY, ENV_KEY, PASTED)
KEY_ENV = "RLKD_TEST_SECRET_JUDGE_KEY"


@pytest.fixture
def judge_server():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers.get("Authorization"), parse_qs(urlsplit(self.path).query).get("key")))
            json.loads(body)
            if len(seen) == 1:  # the first request fails, so the judge logs where it went
                self.send_response(400)
                self.end_headers()
                return
            reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": "yes"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def _judge(url, api_key_env):
    args = {"base_url": url, "model": "m", "api_key_env": api_key_env, "timeout": 10, "retries": 0}
    return {"name": "judge", "weight": 0.1, "args": args}


def test_planted_secrets_are_absent_from_every_output(tiny_config, tmp_path, judge_server):
    host, seen = judge_server
    raw = yaml.safe_load(tiny_config.read_text())
    run = tmp_path / "run"
    raw["grpo"].update(output_dir=str(run), max_steps=2, save_steps=2, logging_steps=1)
    raw["wandb"] = {"mode": "offline", "project": "secrets"}
    config = tmp_path / "secrets.yaml"
    config.write_text(yaml.safe_dump(raw))
    url = f"http://judge:{PASSWORD}@{host}/v1?key={QUERY_KEY}"
    rewards = [*raw["rewards"], _judge(url, KEY_ENV)]
    proc = rlkd_train(config, "rewards=" + json.dumps(rewards), env_extra={KEY_ENV: ENV_KEY, "WANDB_MODE": "offline"})
    assert proc.returncode == 0, proc.stderr[-3000:]

    # The secrets were used: the key from the environment as a bearer token, the query key on every request.
    assert seen and all(auth == f"Bearer {ENV_KEY}" and key == [QUERY_KEY] for auth, key in seen)
    assert f"http://***@{host}/v1/chat/completions?key=***: HTTP 400" in proc.stderr  # logged, masked

    files = [p for p in run.rglob("*") if p.is_file() and not p.is_symlink()]
    log = next(p for p in files if p.suffix == ".wandb")
    assert f"http://***@{host}/v1?key=***".encode() in log.read_bytes()  # W&B recorded the command line, masked
    assert (run / "config.resolved.yaml").is_file() and (run / "metrics.jsonl").is_file()
    assert "http://***@" in (run / "config.resolved.yaml").read_text()  # the URL is kept, its credentials are not
    for secret in (PASSWORD, QUERY_KEY, ENV_KEY):
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret} in {path}"
        assert secret not in proc.stdout and secret not in proc.stderr


def test_a_key_pasted_into_api_key_env_is_not_echoed(tiny_config, tmp_path, judge_server):
    host, _ = judge_server
    raw = yaml.safe_load(tiny_config.read_text())
    raw["grpo"]["output_dir"] = str(tmp_path / "pasted")
    raw["rewards"].append(_judge(f"http://{host}/v1", PASTED))  # the key itself, where its variable's name goes
    config = tmp_path / "pasted.yaml"
    config.write_text(yaml.safe_dump(raw))
    proc = rlkd_train(config)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("rlkd: error: judge: api_key_env must be the NAME")
    assert PASTED not in proc.stderr and PASTED not in proc.stdout
    written = [p for p in (tmp_path / "pasted").rglob("*") if p.is_file()] if (tmp_path / "pasted").exists() else []
    assert not any(PASTED.encode() in p.read_bytes() for p in written)
