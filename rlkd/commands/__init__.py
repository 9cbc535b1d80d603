"""One module per CLI verb; each exposes the function `rlkd.cli` calls (run_training, run_sft, run_eval, ...).

Heavy libraries are imported inside the functions, so a bad config fails in a second.
"""
