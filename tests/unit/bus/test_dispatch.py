from __future__ import annotations

import uuid
from datetime import UTC, datetime

from bettercallsold.bus.dispatch import delivery_job
from bettercallsold.jobs.deferral import BACKLOG_CAP, fair_priority


class TestFairPriority:
    def test_a_quiet_tenant_goes_first(self) -> None:
        assert fair_priority(0) == 0
        assert fair_priority(0) > fair_priority(1) > fair_priority(299)

    def test_the_kth_waiting_delivery_of_every_tenant_ties(self) -> None:
        assert fair_priority(7) == fair_priority(7) == -7

    def test_stops_counting_at_the_cap(self) -> None:
        assert fair_priority(BACKLOG_CAP) == fair_priority(BACKLOG_CAP * 10) == -BACKLOG_CAP


class TestDeliveryJob:
    def test_names_the_task_queue_and_version(self) -> None:
        delivery_id = uuid.uuid4()
        when = datetime(2026, 1, 1, tzinfo=UTC)
        job = delivery_job(delivery_id, 3, priority=-2, scheduled_at=when)
        assert job.task_name == "bus:deliver"
        assert job.queue == "deliveries"
        assert job.args == {"delivery_id": str(delivery_id), "version": 3}
        assert (job.priority, job.scheduled_at) == (-2, when)
