"""The math-verify worker process, started by rewards.mathverify.verify through its pool (run as a file, never
imported).

    python worker.py PARENT_PID PDEATHSIG SOFT_LIMIT_S FAST_LATEX

Reads jobs `{"gold": str, "answers": [str, ...]}`, one JSON line each, from stdin. Replies on stdout:
`{"gold": bool}` (False: math-verify cannot parse the solution; the job ends there), then one
`{"v": 1.0 | 0.0, "timeout": bool}` per answer; the last reply carries `"end": true`.

Each gold is parsed once per worker and cached, so a group of G completions costs one gold parse, not G.
Extraction settings are exactly those of trl.rewards.accuracy_reward, so verdicts agree with TRL's.

Time limits: a soft limit here (an interval timer whose handler raises math-verify's own TimeoutException, which
math-verify catches and turns into "no parse" / "not equal"), so an ordinary slow verification costs no process;
and the parent's hard limit, which kills this process when a C call (a huge integer power) ignores the signal.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import OrderedDict

_GOLD_CACHE_SIZE = 4096
_VERDICT_CACHE_SIZE = 4096
_REFIRE_S = 0.05  # after the soft limit, keep interrupting until control is back with us


class _SoftLimit:
    """Interrupts math-verify after `seconds`; `fired` says whether the last call was cut short."""

    def __init__(self, seconds: float):
        from math_verify.errors import TimeoutException

        self.seconds, self.exc, self.armed, self.fired = seconds, TimeoutException, False, False
        signal.signal(signal.SIGALRM, self._handler)

    def _handler(self, signum, frame):
        if self.armed:
            self.fired = True
            raise self.exc("rlkd soft limit")

    def run(self, fn, *args, **kwargs):
        self.fired = False
        if self.seconds <= 0:  # soft limit off: the parent's hard limit alone applies
            return fn(*args, **kwargs)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, _REFIRE_S)
        try:
            return fn(*args, **kwargs)
        except self.exc:
            self.fired = True
            return None
        finally:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)


def _two_stage_latex_parsing() -> bool:
    """Parse LaTeX with ANTLR's two-stage strategy: SLL prediction first, full LL only when SLL fails.

    Most of math-verify's time goes to latex2sympy's ANTLR parser in full-context (LL) prediction. ANTLR
    documents that SLL mode either returns the same parse tree LL would, or reports a syntax error; latex2sympy
    raises on any syntax error, so retrying those with LL gives exactly the original results, ~1.5x faster.
    Returns False (and changes nothing) if latex2sympy's internals are not the ones this was written for.
    """
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from latex2sympy2_extended import latex2sympy2 as l2s

        converter = l2s._Latex2Sympy
        create_parser, parse = converter.create_parser, converter.parse
    except (ImportError, AttributeError):
        return False

    def create_parser_sll(self, latex_str):
        parser = create_parser(self, latex_str)
        parser._interp.predictionMode = getattr(self, "_rlkd_prediction", PredictionMode.LL)
        return parser

    def parse_two_stage(self, latex_str):
        self._rlkd_prediction = PredictionMode.SLL
        try:
            return parse(self, latex_str)
        except Exception:  # a syntax error under SLL (or a conversion error, which LL repeats): the original path
            self._rlkd_prediction = PredictionMode.LL
            return parse(self, latex_str)

    converter.create_parser, converter.parse = create_parser_sll, parse_two_stage
    return True


def main(argv: list[str]) -> None:
    parent_pid, pdeathsig, soft_limit, fast_latex = int(argv[0]), argv[1] == "1", float(argv[2]), argv[3] == "1"
    from rewards.isolation import child

    out = child.setup(parent_pid, pdeathsig)  # prints go to stderr; Ctrl-C is the trainer's; we die with it

    import logging

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # timeouts are counted by the parent
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    if fast_latex and not _two_stage_latex_parsing():
        logging.getLogger(__name__).warning("latex2sympy has changed: two-stage LaTeX parsing is off")

    units = NormalizationConfig(units=True)
    answer_config = [
        LatexExtractionConfig(normalization_config=units, boxed_match_priority=0, try_extract_without_anchor=False)
    ]
    limit = _SoftLimit(soft_limit)
    golds: OrderedDict[str, list] = OrderedDict()
    verdicts: OrderedDict[tuple, bool] = OrderedDict()

    def reply(obj: dict) -> None:
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    def gold_of(text: str) -> tuple[list, bool]:
        if text in golds:
            golds.move_to_end(text)
            return golds[text], False
        parsed = limit.run(parse, text, parsing_timeout=None) or []
        if limit.fired:
            return [], True
        golds[text] = parsed
        if len(golds) > _GOLD_CACHE_SIZE:
            golds.popitem(last=False)
        return parsed, False

    def verdict(gold_text: str, gold: list, answer: str) -> tuple[float, bool]:
        def both():
            parsed = parse(answer, answer_config, extraction_mode="first_match", parsing_timeout=None)
            # Answers phrased differently often parse to the same expressions; verify is a function of the parses,
            # so an equal parse reuses the verdict. Keyed by type too: sympy objects of one type compare
            # structurally, and 0.5 must never stand in for 1/2.
            try:
                key = (gold_text, tuple((type(x), x) for x in parsed))
                hash(key)
            except TypeError:  # an unhashable parse (a mutable matrix): verify it
                return verify(gold, parsed, timeout_seconds=None)
            if key not in verdicts:
                verdicts[key] = verify(gold, parsed, timeout_seconds=None)
                if len(verdicts) > _VERDICT_CACHE_SIZE:
                    verdicts.popitem(last=False)
            return verdicts[key]

        ok = limit.run(both)
        return (0.0, True) if limit.fired else (float(bool(ok)), False)

    verdict("$1$", gold_of("$1$")[0], "\\boxed{1}")  # warm up sympy and the parsers before the first timed job
    reply({"ready": True})
    for line in sys.stdin.buffer:
        job = json.loads(line)
        answers = job["answers"]
        gold, timed_out = gold_of(job["gold"])
        reply({"gold": bool(gold), "timeout": timed_out, "end": not gold or not answers})
        if not gold:
            continue
        for i, answer in enumerate(answers):
            v, timed_out = verdict(job["gold"], gold, answer)
            reply({"v": v, "timeout": timed_out, "end": i == len(answers) - 1})


if __name__ == "__main__":
    main(sys.argv[1:])
