"""`GET /plugins/automation/catalogue`: what a flow can use (pure, the same for every tenant).

Served without a tenant's credential: it is the contract's catalogue as data, nothing of any
tenant's, and the builder UI and the test panel read it before anything else.
"""

from __future__ import annotations

from bettercallsold.automation.definition import FLOW_STATUSES
from bettercallsold.automation.schemas import CatalogueOut, EventSample, OperatorOut
from bettercallsold.catalogue import ACTIONS, EVENT_SAMPLES
from bettercallsold.catalogue.operators import OPERATORS, UNARY_OPERATORS


def describe_catalogue() -> CatalogueOut:
    return CatalogueOut(
        actions=[spec.describe() for spec in ACTIONS.values()],
        events=[
            EventSample(event_type=event_type, sample_payload=sample)
            for event_type, sample in EVENT_SAMPLES.items()
        ],
        operators=[
            OperatorOut(operator=name, takes_value=name not in UNARY_OPERATORS)
            for name in OPERATORS
        ],
        statuses=list(FLOW_STATUSES),
    )
