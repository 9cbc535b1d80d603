"""The `rlkd` command line.

    rlkd train CONFIG [key=value ...] [--resume [--force-config-change] | --restart]
                                        GRPO training per a YAML config, with optional dotted overrides
    rlkd validate CONFIG [key=value ...] [--resume]
                                        every check `rlkd train` makes, without training
    rlkd passrate CONFIG [key=value ...] each train prompt's pass rate under the student (resumable JSONL)
    rlkd plot-curriculum RUN_DIR        PNG of the curriculum's target vs realised batch pass rate
    rlkd sft CONFIG [key=value ...]     the SFT/distillation stage before RL (the config's sft: section)
    rlkd eval CONFIG --model PATH [--model PATH2] [--out FILE] [key=value ...]
                                        held-out accuracy, pass@k, format, length per reasoning mode → eval.json
    rlkd tiny-model OUT_DIR             build the tiny local student (tokenizer + random-init Qwen2)
    rlkd demo [--out DIR]               the main job on a CPU box
    rlkd parity RUN_DIR                 did vLLM sample from the trained policy? (exit 1 if not)
    rlkd --version
    rlkd export RUN_DIR [--merge] [--out DIR]
                                        a LoRA run's adapter, or (--merge) the student with it merged in

Bad input (a missing file, bad YAML, an unknown key, a wrong type) prints one line on stderr saying what to fix
and exits with status 2; heavy libraries are imported only after the config is read, so that is quick. Options
are matched exactly (no abbreviations). SIGTERM or Ctrl-C during training saves a checkpoint at the next step
boundary and exits with one line naming it and the resume command (rlkd.training.preemption).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


OVERRIDES_HELP = "optional dotted overrides, e.g. grpo.max_steps=4 (values are YAML: 4, 1e-6, true, [1, 8])"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rlkd")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    # allow_abbrev=False everywhere: `--resum` must be an error, not a silent `--resume` (nor, one day, a
    # `--resume-from` that an abbreviation happens to match).
    p = argparse.ArgumentParser(
        prog="rlkd", description="GRPO post-training for distilled reasoning models.", allow_abbrev=False
    )
    p.add_argument("--version", action="version", version=f"rlkd {_version()}")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print every log line and progress bar the libraries print"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, allow_abbrev=False)

    def config_and_overrides(parser: argparse.ArgumentParser, config_help: str, example: str) -> None:
        parser.add_argument("config", help=config_help)
        # default=[]: without it argparse lists a `*` positional as required ("required: config, key=value")
        parser.add_argument("overrides", nargs="*", default=[], metavar="key=value", help=example)

    train = verb("train", "train with GRPO per a YAML config")
    config_and_overrides(train, "path to a YAML config (see configs/)", OVERRIDES_HELP)
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest complete checkpoint in grpo.output_dir (and the same W&B run); the config "
        "must match the run's config.resolved.yaml except for the keys docs/resume.md lists; a finished run is left "
        "as it is unless grpo.max_steps was raised",
    )
    train.add_argument(
        "--force-config-change",
        action="store_true",
        help="with --resume: accept a config that differs from the run's saved one (the change is recorded in "
        "config_changes.jsonl of the run)",
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help="start the run over in grpo.output_dir when it holds no complete checkpoint (empties metrics.jsonl)",
    )

    validate = verb("validate", "check a config, its model, dataset and rewards without training")
    config_and_overrides(validate, "path to a YAML config (see configs/)", OVERRIDES_HELP)
    validate.add_argument(
        "--resume", action="store_true", help="check as `rlkd train --resume` would (checkpoints, saved config)"
    )
    validate.add_argument(
        "--force-config-change", action="store_true", help="with --resume: as `rlkd train --force-config-change`"
    )

    passrate = verb("passrate", "estimate each train prompt's pass rate (k samples, resumable)")
    config_and_overrides(
        passrate, "path to a YAML config (see configs/)", "optional dotted overrides, e.g. passrate.k=4"
    )

    plot = verb("plot-curriculum", "plot target vs realised batch pass rate from metrics.jsonl")
    plot.add_argument("run_dir", help="output dir of an `rlkd train` run (it holds metrics.jsonl)")
    plot.add_argument("--out", help="PNG path (default RUN_DIR/curriculum.png)")

    tiny = verb("tiny-model", "build a tiny local student model (no download)")
    tiny.add_argument("out_dir", help="directory to write the tokenizer and the random-init model to")
    tiny.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")

    sft = verb("sft", "SFT the student on teacher traces (optionally with logit distillation)")
    config_and_overrides(
        sft, "path to a YAML config with an sft: section", "optional dotted overrides, e.g. sft.args.max_steps=4"
    )

    ev = verb("eval", "evaluate one or two models per reasoning mode on the held-out split")
    config_and_overrides(
        ev,
        "path to a YAML config (its data, rewards, generation and eval sections are used)",
        "optional dotted overrides, e.g. eval.num_samples=4",
    )
    ev.add_argument("--model", action="append", required=True, metavar="PATH", help="a model dir or Hub id; repeat")
    ev.add_argument("--out", default=None, help="where to write eval.json (default: <grpo.output_dir>/eval.json)")

    demo = verb("demo", "the main job on a CPU box: tiny student → SFT → GRPO → before/after eval")
    demo.add_argument("--config", default="configs/tiny-cpu.yaml", help="the demo's config (default %(default)s)")
    demo.add_argument(
        "--out",
        default="runs/demo",
        help="directory for every stage's output (default %(default)s); it must be empty, new, or an earlier demo's",
    )
    demo.add_argument("overrides", nargs="*", default=[], metavar="key=value", help=OVERRIDES_HELP)

    parity = verb("parity", "check a vLLM run's sampler matched the policy (docs/vllm.md)")
    parity.add_argument("run_dir", help="output dir of an `rlkd train` run with generation.backend: vllm")
    parity.add_argument("--tolerance", type=float, default=1e-4, help="max allowed |log-prob| gap (default 1e-4)")

    export = verb("export", "a LoRA run's adapter, or with --merge the student with it merged in")
    export.add_argument("run_dir", help="output dir of a run with a peft: section, or one of its checkpoints")
    export.add_argument("--merge", action="store_true", help="write a full model with the adapter merged in")
    export.add_argument("--out", default=None, help="where to write (default RUN_DIR/merged or RUN_DIR/adapter)")
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
    from rlkd import console
    from rlkd.errors import RedactingFilter

    console.setup(verbose=args.verbose)  # before any library that prints is imported
    for handler in logging.getLogger().handlers:  # every log line, rlkd's and the libraries', is scrubbed
        handler.addFilter(RedactingFilter())
    _working_directory_importable()
    from rewards import RewardError
    from rlkd.errors import ConfigError

    try:
        return _run(args)
    except (ConfigError, RewardError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:  # Ctrl-C outside training (training turns it into a checkpoint and a message)
        print("rlkd: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _working_directory_importable() -> None:
    """`plugins: [my_rewards]` and `module:function` names find modules in the working directory, as they do
    under `python -m rlkd.cli`; the `rlkd` script alone would not look there. Appended, so a file in the working
    directory never shadows an installed package."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def _run(args: argparse.Namespace) -> int:
    """Dispatch to the verb's module in rlkd.commands (imported only when used)."""
    from rlkd.config import load_config

    if args.command == "train":
        from rlkd.commands.train import TrainingFailed, run_training
        from rlkd.training.preemption import Preempted

        try:
            run_training(
                load_config(args.config, args.overrides),
                resume=args.resume,
                config_path=args.config,
                overrides=args.overrides,
                force_config_change=args.force_config_change,
                restart=args.restart,
            )
        except TrainingFailed as e:
            from rlkd.training.disk import DiskFull

            # a full disk needs no traceback: the one line says where and how much
            logging.getLogger("rlkd").error("training failed", exc_info=not isinstance(e.__cause__, DiskFull))
            _fail(str(e))
            return 1
        except Preempted as e:  # SIGTERM / Ctrl-C: a checkpoint was saved (or none could be); say how to resume
            print(f"rlkd: {e}", file=sys.stderr)
            return e.exit_code
    elif args.command == "validate":
        from rlkd.commands.validate import validate

        print(validate(args.config, args.overrides, resume=args.resume, force_config_change=args.force_config_change))
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
    elif args.command == "export":
        from rlkd.commands.export import export

        print(export(args.run_dir, merge=args.merge, out=args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
