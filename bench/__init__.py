"""Benchmarks: scripts that start the system as a user would and print figures."""
