"""`GET /plugins/automation/catalogue`: what a flow can use (pure, the same for every tenant).

Served without a tenant's credential: it is the contract's catalogue as data, nothing of any
tenant's, and the builder UI and the test panel read it before anything else.
"""

from __future__ import annotations

from bettercallsold.automation.conditions import OPERATORS, UNARY_OPERATORS
from bettercallsold.automation.definition import FLOW_STATUSES
from bettercallsold.automation.schemas import CatalogueOut, EventSample, OperatorOut
from bettercallsold.catalogue import ACTIONS, EVENT_SAMPLES

_CONTRACT_ORDER = (
    "exists",
    "not_exists",
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "greater_than",
    "greater_than_or_equal",
    "less_than",
    "less_than_or_equal",
    "in",
    "not_in",
)


def describe_catalogue() -> CatalogueOut:
    known = [name for name in _CONTRACT_ORDER if name in OPERATORS]
    operators = known + sorted(OPERATORS - set(known))
    return CatalogueOut(
        actions=[spec.describe() for spec in ACTIONS.values()],
        events=[
            EventSample(event_type=event_type, sample_payload=sample)
            for event_type, sample in EVENT_SAMPLES.items()
        ],
        operators=[
            OperatorOut(operator=name, takes_value=name not in UNARY_OPERATORS)
            for name in operators
        ],
        statuses=list(FLOW_STATUSES),
    )
