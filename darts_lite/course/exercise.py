"""Exercises a student can check: `q1.check(answer)` says right or not yet, and why (as Kaggle Learn does).

An `Exercise` holds its question, a `verify(answer)` that returns None when the answer is right
and otherwise the reason it is not, and the explanation shown once it is right. `verify` never
trusts the answer: it recomputes what is asked independently (often on fresh random inputs) and
compares. A wrong answer, an unanswered one (`None`, `...`) and an answer that raises all give a
message, never a traceback. Every exercise also carries `wrong`, a plausible wrong answer, so that
the tests show each check can fail; the right answers live in `solutions/`.
"""
from __future__ import annotations

import functools
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

UNANSWERED = (None, Ellipsis)
NO_ANSWER = "no answer yet: replace the `...` or `None` with your answer."


class _Unanswered(Exception):
    """A function answer returned None: its body is still the `...` placeholder."""


def _answered(function: Callable) -> Callable:
    """`function`, raising `_Unanswered` where it returns None (a body that is still `...`)."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        out = function(*args, **kwargs)
        if out is None:
            raise _Unanswered
        return out
    return call


@dataclass
class Exercise:
    """One checkable exercise of a notebook. `check(answer)` prints the verdict; `passed(answer)` also returns it."""

    name: str                                # "q1"
    question: str                            # one or two short sentences
    verify: Callable[[Any], str | None]      # None when right, else why not
    why: str                                 # what the right answer shows, printed once it is right
    wrong: Any = None                        # a plausible wrong answer: the check must reject it
    hint: str = ""
    cpu_seconds: float = 5.0                 # what its solution takes on a 2-core CPU (all are well under 120)
    extra: dict = field(default_factory=dict)

    def result(self, answer: Any) -> str | None:
        """None when `answer` is right, else the reason (unanswered, raised, or `verify`'s)."""
        if any(answer is u for u in UNANSWERED):
            return NO_ANSWER
        if callable(answer) and not isinstance(answer, type):
            answer = _answered(answer)
        try:
            return self.verify(answer)
        except _Unanswered:
            return NO_ANSWER + " (your function returned None)"
        except Exception as err:  # noqa: BLE001 - a student's code may raise anything; say what it was
            where = traceback.format_exception_only(type(err), err)[-1].strip()
            return f"your answer raised {where}"

    def passed(self, answer: Any) -> bool:
        """Print "Correct" and why, or "Not yet" and the reason (with the hint); True when right."""
        reason = self.result(answer)
        if reason is None:
            print(f"{self.name}: Correct. {self.why}")
            return True
        print(f"{self.name}: Not yet: {reason}" + (f"\nHint: {self.hint}" if self.hint else ""))
        return False

    def check(self, answer: Any) -> None:
        """`passed`, for the last line of a notebook cell: it prints the verdict and leaves no `True` below it."""
        self.passed(answer)

    def show_hint(self) -> None:
        print(f"{self.name}: {self.hint or 'no hint for this one: reread the section above it.'}")

    def __repr__(self) -> str:
        return f"Exercise({self.name}: {self.question})"


def close(got: Any, expected: float, rel: float = 1e-6, abs_: float = 1e-9, what: str = "your value") -> str | None:
    """None when `got` is a number within tolerance of `expected`, else why not."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"{what} should be a number, got {type(got).__name__}."
    if abs(value - expected) <= max(abs_, rel * abs(expected)):
        return None
    return f"{what} is {value:.6g}; it should be {expected:.6g}."
