"""What every part's HTTP API shares: request limits, error handlers, pagination, the base of
request bodies, and `/docs`. Imports nothing of the parts."""
