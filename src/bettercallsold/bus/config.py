"""What the bus takes from the running process, and the two seams a test may swap.

`Runtime.extras` may carry a `RetryPolicy` (a short schedule in tests) and a `Resolver` (a fake
DNS for the SSRF tests); a process that sets neither gets the production defaults.
"""

from __future__ import annotations

from bettercallsold.bus.retry_policy import DEFAULT_POLICY, RetryPolicy
from bettercallsold.bus.url_guard import Resolver, system_resolver
from bettercallsold.runtime import Runtime

RETRY_POLICY_KEY = "bus.retry_policy"
RESOLVER_KEY = "bus.resolver"


def retry_policy(runtime: Runtime) -> RetryPolicy:
    policy = runtime.extras.get(RETRY_POLICY_KEY, DEFAULT_POLICY)
    assert isinstance(policy, RetryPolicy)
    return policy


def resolver(runtime: Runtime) -> Resolver:
    found: Resolver = runtime.extras.get(RESOLVER_KEY, system_resolver)
    return found
