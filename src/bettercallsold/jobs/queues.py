"""The job queues. A worker takes jobs from every queue; they are apart so that `/metrics` shows
each kind of work's backlog, and so a burst of one kind is seen for what it is."""

from __future__ import annotations

DELIVERIES = "deliveries"
"""Webhook deliveries to outside subscribers (`bus:deliver`)."""
EXECUTIONS = "executions"
"""Flow executions (`automation:run_execution`)."""
MAINTENANCE = "maintenance"
"""Periodic system work: stalled-job recovery, purges, schedule ticks."""
DEFAULT = "default"
"""procrastinate's own default: nothing of ours is deferred there."""

ALL = (DELIVERIES, EXECUTIONS, MAINTENANCE, DEFAULT)
