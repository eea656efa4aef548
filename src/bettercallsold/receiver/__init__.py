"""The event receiver: routes automation action batches to the platform APIs."""
