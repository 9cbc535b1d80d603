"""Data for a run: datasets and their chat formatting, row checks, task generators, and the pass-rate file.

datasets.py    load or generate prompt/solution rows, assign reasoning modes, build chat prompts
rows.py        row checks and the prompt-length budget, at load time
generators.py  `data.generator: NAME` → a registered task (the demo's arithmetic registers itself)
traces.py      the SFT dataset: a teacher task's responses or the data's completion column
passrates.py   the one owner of the pass-rate file format (write, resume, read, join)
"""
