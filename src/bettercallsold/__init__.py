"""BetterCallSold: a multi-tenant commerce platform with merchant-defined automation."""

__version__ = "0.1.0"
