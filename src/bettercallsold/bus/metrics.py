"""The bus's Prometheus series (registered in the default registry that `/metrics` exposes)."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERY_ATTEMPTS = Counter(
    "bcs_deliveries",
    "Webhook delivery attempts, by the delivery's status after the attempt "
    "(delivered, failed = a retry is scheduled, dead).",
    ["outcome"],
)
