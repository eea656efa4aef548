"""The event bus: the transactional outbox, webhook subscriptions and signed delivery."""
