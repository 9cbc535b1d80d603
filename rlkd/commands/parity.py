"""`rlkd parity RUN_DIR`: did vLLM sample from the policy being trained? Reads TRL's logged log-prob gap from
metrics.jsonl (rlkd.generation.parity) and fails (exit 1) when its worst step exceeds the tolerance."""

from __future__ import annotations

from pathlib import Path


def check_parity(run_dir: str | Path, tolerance: float) -> tuple[bool, str]:
    """(within tolerance, the one-line report)."""
    from rlkd.generation.parity import run_parity

    rows = run_parity(run_dir)
    step, worst = max(rows, key=lambda r: r[1] if r[1] == r[1] else float("inf"))  # NaN counts as the worst
    ok = worst <= tolerance
    report = (
        f"parity: {len(rows)} logged steps, worst max |vLLM - policy| log-prob = {worst:.3g} at step {step} "
        f"(tolerance {tolerance:g}): {'ok' if ok else 'FAILED'}"
    )
    return ok, report
