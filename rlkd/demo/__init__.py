"""The offline demo kit: everything `rlkd demo` needs that is not rlkd itself, built locally with no download.

    tiny.py        a byte-level tokenizer with a chat template and a random-init Qwen2 student (`rlkd tiny-model`)
    arithmetic.py  the arithmetic task's problems and its held-out split
    teacher.py     the symbolic teacher: step-by-step traces for "detailed thinking on", bare answers for "off"
    task.py        the task as a registered generator (`data.generator: arithmetic`) that is also a teacher

The core (config, data, training, generation) never imports this package: it finds the task by name.
"""
