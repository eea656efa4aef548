"""What one execution (or one dry run) may spend on a tenant's templates and tests, in total.

Each template string has its own limits (`templates.py`), but a flow holds many strings, and
loops run them many times: 100 strings each looping 1,000 times blocked a worker for seconds.
So every execution carries one `Budget`, and everything a tenant's text makes us do is charged
to it: loop iterations (liquid `for` loops and `for_each` steps), output (rendered text), and
list items handled (by filters such as `sort_natural`, and by `in`/`contains` tests). Past any
limit the execution fails with `BudgetExceeded`, naming it.

The budget is reached through a context variable while the engine renders or evaluates
(`spending`), so liquid's loop and filter hooks charge it without threading it through
python-liquid's API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MAX_ITERATIONS = 10_000
MAX_OUTPUT_CHARS = 1024 * 1024
MAX_LIST_ITEMS = 100_000


class BudgetExceeded(Exception):
    """An execution's total work passed a limit: the execution fails, not just one action."""


@dataclass
class Budget:
    iterations: int = 0
    output_chars: int = 0
    list_items: int = 0

    def spend_iterations(self, count: int) -> None:
        self.iterations += count
        if self.iterations > MAX_ITERATIONS:
            raise BudgetExceeded(
                f"execution budget exceeded: more than {MAX_ITERATIONS} loop iterations "
                "in one execution (liquid loops and for_each steps together)"
            )

    def spend_output(self, chars: int) -> None:
        self.output_chars += chars
        if self.output_chars > MAX_OUTPUT_CHARS:
            raise BudgetExceeded(
                f"execution budget exceeded: more than {MAX_OUTPUT_CHARS} characters of "
                "rendered templates in one execution"
            )

    def spend_items(self, count: int) -> None:
        self.list_items += count
        if self.list_items > MAX_LIST_ITEMS:
            raise BudgetExceeded(
                f"execution budget exceeded: more than {MAX_LIST_ITEMS} list items handled "
                "by filters and tests in one execution"
            )


_CURRENT: ContextVar[Budget | None] = ContextVar("bcs_execution_budget", default=None)


@contextmanager
def spending(budget: Budget) -> Iterator[Budget]:
    """Charge what runs inside to `budget`."""
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def charge_iterations(count: int) -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend_iterations(count)


def charge_output(chars: int) -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend_output(chars)


def charge_items(count: int) -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend_items(count)
