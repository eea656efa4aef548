"""procrastinate's per-job INFO lines are dropped; its worker's life and its errors are not."""

from __future__ import annotations

import logging

from bettercallsold.cli import _without_per_job_lines


def _record(name: str, level: int, action: str) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, "message", None, None)
    record.action = action
    return record


def test_per_job_lines_are_dropped() -> None:
    assert not _without_per_job_lines(_record("procrastinate.worker", logging.INFO, "start_job"))
    assert not _without_per_job_lines(_record("procrastinate.worker", logging.INFO, "job_success"))


def test_the_workers_life_retries_and_errors_stay() -> None:
    stop = _record("procrastinate.worker", logging.INFO, "stopping_worker")
    retry = _record("procrastinate.worker", logging.INFO, "job_error_retry")
    failed = _record("procrastinate.worker", logging.ERROR, "job_success")
    ours = _record("bettercallsold.app", logging.INFO, "start_job")
    assert all(_without_per_job_lines(record) for record in (stop, retry, failed, ours))
