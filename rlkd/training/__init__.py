"""What plugs into TRL's trainers, and the one builder of a configured trainer.

trainer.py       RLKDTrainer: GRPOTrainer with rlkd's small hooks, nothing copied from TRL
builder.py       prepare_run + build_trainer: the one way to get a configured RLKDTrainer
rewards.py       the one reward resolution (train, passrate, eval, validate)
curriculum.py    the curriculum at run time: pass-rate join and filter, the hooks' logic, dynamic sampling
sampler.py       a curriculum as TRL's train sampler (the RepeatSampler contract)
mode_metrics.py  per-reasoning-mode reward means and lengths
checkpoints.py   complete checkpoints, resume, run state
tracking.py      metrics.jsonl and W&B
distill.py       logit distillation for the SFT stage
"""
