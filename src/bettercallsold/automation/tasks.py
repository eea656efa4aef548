"""Automation background work (procrastinate tasks)."""

from __future__ import annotations

import procrastinate

blueprint = procrastinate.Blueprint()
