"""What the bus takes from the running process, and the two seams a test may swap.

`Runtime.extras` may carry a `RetryPolicy` (a short schedule in tests) and a `Resolver` (a fake
DNS for the SSRF tests); a process that sets neither gets the production defaults (the first
retry delay from `BCS_WEBHOOK_RETRY_FIRST_DELAY_SECONDS`, which the chaos tests shorten).
"""

from __future__ import annotations

import dataclasses

from bettercallsold.bus.retry_policy import DEFAULT_POLICY, RetryPolicy
from bettercallsold.outbound import RESOLVER_KEY, Resolver, system_resolver
from bettercallsold.runtime import Runtime

RETRY_POLICY_KEY = "bus.retry_policy"


def retry_policy(runtime: Runtime) -> RetryPolicy:
    policy = runtime.extras.get(RETRY_POLICY_KEY)
    if policy is None:
        first_delay = runtime.settings.webhook_retry_first_delay_seconds
        if first_delay == DEFAULT_POLICY.first_delay:
            return DEFAULT_POLICY
        return dataclasses.replace(DEFAULT_POLICY, first_delay=first_delay)
    assert isinstance(policy, RetryPolicy)
    return policy


def resolver(runtime: Runtime) -> Resolver:
    found: Resolver = runtime.extras.get(RESOLVER_KEY, system_resolver)
    return found
