"""`bcs flows import/export` (filled in by the automation plugin)."""

from __future__ import annotations

import typer

flows_app = typer.Typer(help="Import and export automation flows.", no_args_is_help=True)
