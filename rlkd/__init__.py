"""rlkd: GRPO post-training for distilled reasoning models, after the Llama-Nemotron RL recipe, on TRL.

The rooms, by role (imports flow from commands down; `rewards` and `curricula` never import rlkd):

    cli.py       the `rlkd` command line: parses, then dispatches to rlkd.commands
    commands/    one module per verb: train, sft, eval, passrate, validate, demo, plots, parity
    config/      YAML → typed sections, the strict loader, the one bridge to TRL's config classes
    training/    what plugs into TRL's trainers, the one trainer builder, the one reward resolution
    generation/  the vLLM engine and its CPU sync, parity, the one offline generate
    data/        datasets, row checks, task generators, SFT traces, the pass-rate file
    demo/        the offline demo kit (tiny model, arithmetic task, symbolic teacher): the core never names it
    model.py     loading the student and rendering its prompts
    io.py        crash-safe writes
    errors.py    ConfigError and first_line
"""
