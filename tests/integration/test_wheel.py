"""The built wheel is the product: `pip wheel .` from a clean copy of the tree, installed (not editable) into a fresh
venv, must carry every module of the three packages and run `rlkd --help`, `rlkd tiny-model` and `rlkd validate`
on the tiny config. An editable install hides a subpackage the wheel forgot; this does not.

The fresh venv takes the project's dependencies from the test's own environment through a path entry (installing
torch, TRL and vLLM again would cost minutes and, done carelessly, a CUDA download); that entry is a plain path, so
the editable install's import hook there is never activated, and rlkd can only come from the wheel.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("rlkd", "rewards", "curricula")


def _clean_copy(dest: Path) -> Path:
    """The tracked and untracked-but-not-ignored files, as a fresh clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for rel in listed:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-3000:]}"
    return proc.stdout


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path, tiny_config):
    src = _clean_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    # --no-build-isolation: the build backend (setuptools) from this environment, no download
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)]
    )
    (wheel,) = wheels.glob("rlkd-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)])

    # every module of the three packages is installed, from the wheel
    shipped = {str(p.relative_to(REPO)) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    installed = {str(p.relative_to(site)) for pkg in PACKAGES for p in (site / pkg).rglob("*.py")}
    assert shipped - installed == set()

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    work = tmp_path / "elsewhere"  # not the repo: nothing may be imported from the source tree
    work.mkdir()
    where = _run([str(py), "-c", "import rlkd.cli, rlkd.demo.task; print(rlkd.cli.__file__)"], cwd=work, env=env)
    assert where.strip().startswith(str(site))
    rlkd = str(env_dir / "bin" / "rlkd")
    assert "validate" in _run([rlkd, "--help"], cwd=work, env=env)
    model = work / "tiny-model"
    _run([rlkd, "tiny-model", str(model)], cwd=work, env=env)
    raw = yaml.safe_load(tiny_config.read_text())
    raw["model"]["name_or_path"] = str(model)
    config = work / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    report = _run([rlkd, "validate", str(config)], cwd=work, env=env)
    # the arithmetic task is found through the wheel's entry point, like any user's task
    assert "config ok" in report and "train rows" in report
