"""Tenants, their API tokens and bearer authentication: shared by every HTTP-facing feature."""
