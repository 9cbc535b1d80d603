"""The `rlkd` command line.

    rlkd train CONFIG [key=value ...]   GRPO training per a YAML config, with dotted overrides
    rlkd tiny-model OUT_DIR             build the tiny local student (tokenizer + random-init Qwen2)
    rlkd demo                           the main job on a CPU box
    rlkd parity RUN_DIR                 did vLLM sample from the trained policy? (exit 1 if not)

Bad input (a missing file, bad YAML, an unknown key, a wrong type) prints one line on stderr saying what to fix
and exits with status 2; heavy libraries are imported only after the config is read, so that is quick.
"""

from __future__ import annotations

import argparse
import logging
import sys

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rlkd", description="GRPO post-training for distilled reasoning models.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train with GRPO per a YAML config")
    train.add_argument("config", help="path to a YAML config (see configs/)")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. grpo.max_steps=4")

    tiny = sub.add_parser("tiny-model", help="build a tiny local student model (no download)")
    tiny.add_argument("out_dir")
    tiny.add_argument("--seed", type=int, default=0)

    sub.add_parser("demo", help="build the tiny student and train it with configs/tiny-cpu.yaml")

    parity = sub.add_parser("parity", help="check a vLLM run's sampler matched the policy (docs/vllm.md)")
    parity.add_argument("run_dir", help="output dir of an `rlkd train` run with generation.backend: vllm")
    parity.add_argument("--tolerance", type=float, default=1e-4, help="max allowed |log-prob| gap (default 1e-4)")
    return p


def _fail(message: str) -> int:
    print(f"rlkd: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rewards import RewardError
    from rlkd.config import ConfigError

    try:
        if args.command == "train":
            return _train(args.config, args.overrides)
        if args.command == "tiny-model":
            from rlkd.tiny import save_tiny_model

            print(save_tiny_model(args.out_dir, seed=args.seed))
            return 0
        if args.command == "demo":
            from rlkd.tiny import save_tiny_model

            save_tiny_model("runs/tiny-model")
            return _train("configs/tiny-cpu.yaml", [])
        if args.command == "parity":
            return _parity(args.run_dir, args.tolerance)
    except (ConfigError, RewardError) as e:
        return _fail(str(e))
    return 0


def _train(config: str, overrides: list[str]) -> int:
    from rlkd.config import build_grpo_config, load_config

    cfg = load_config(config, overrides)
    build_grpo_config(cfg)  # TRL's own cross-field checks, before anything heavy is loaded
    from rlkd.train import run_training

    run_training(cfg)
    return 0


def _parity(run_dir: str, tolerance: float) -> int:
    from rlkd.parity import run_parity

    rows = run_parity(run_dir)
    step, worst = max(rows, key=lambda r: r[1] if r[1] == r[1] else float("inf"))  # NaN counts as the worst
    ok = worst <= tolerance
    print(f"parity: {len(rows)} logged steps, worst max |vLLM - policy| log-prob = {worst:.3g} at step {step} "
          f"(tolerance {tolerance:g}): {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
