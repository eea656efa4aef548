"""The operator's endpoints: `/healthz` and Prometheus `/metrics` (each part's own readings,
composed here). Unauthenticated: serve them on the operator's network."""
