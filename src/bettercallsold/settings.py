"""Every setting of the system, typed, read from `BCS_*` environment variables.

Nothing else in the code reads `os.environ`: the CLI or the app factory builds one `Settings`
and passes it down, so tests can build their own without touching the process environment.
Secrets that are not given are generated once and kept under `var/` (mode 0600), so every
`bcs` process on the machine agrees on them without the user having to choose any.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

INPROCESS_BASE_URL = "http://bcs.internal"
"""The base URL that reaches this process's own app through httpx's ASGI transport."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BCS_", env_nested_delimiter="__", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user[:pw]@host:port/db; unset: the embedded server under var/pg",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = Path("var")
    internal_api_token: SecretStr | None = Field(
        default=None, description="the automation plugin's credential at the event receiver"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="the automation plugin subscription's secret, whsec_ + base64"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="signs service assertions and UI sessions"
    )
    platform_url: str | None = Field(
        default=None,
        description="where the plugin and receiver reach the platform; unset: in-process",
    )
    plugin_url: str | None = Field(
        default=None, description="where the event bus delivers to the automation plugin"
    )
    webhook_allow_private_urls: bool = False
    max_causation_depth: int = 5
    max_for_each_items: int = Field(
        default=100, ge=1, le=10_000, description="the longest list a for_each step walks"
    )
    max_actions_per_event: int = Field(
        default=100,
        ge=1,
        description="the actions one outside event may cause, across every execution it leads "
        "to (flows triggering flows); the ones beyond fail naming this limit",
    )
    worker_concurrency: int = 10
    database_wait_seconds: float = Field(
        default=300.0,
        ge=0,
        description="how long a starting process waits for PostgreSQL to answer (0: not at all)",
    )
    database_pool_size: int = Field(
        default=30,
        ge=2,
        description="the most database connections one process opens for its work (the job "
        "engine adds up to 10); keep the sum over every process under max_connections",
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="how often a worker records that it is alive"
    )
    worker_stalled_seconds: float = Field(
        default=20.0,
        gt=0,
        description="a worker silent this long is dead: its running jobs go back to the queue "
        "(keep it a few heartbeats long)",
    )
    worker_shutdown_seconds: float = Field(
        default=30.0,
        ge=0,
        description="on SIGTERM, how long running jobs may finish; the rest are re-queued",
    )
    keep_finished_jobs: bool = Field(
        default=False,
        description="keep procrastinate's rows of succeeded jobs (our own tables keep every "
        "attempt and result; kept jobs only help debugging)",
    )
    retention_days: int = Field(
        default=30,
        ge=8,
        description="days the outbox's events (with their webhook deliveries and attempts) and "
        "the plugin's record of received webhooks are kept before the hourly purge; at least 8, "
        "to outlast the receiver's 7-day idempotency keys (events carry the action keys that "
        "keep a retried action from happening twice) and the ~25 h delivery retries",
    )
    webhook_timeout_seconds: float = 10.0
    webhook_retry_first_delay_seconds: float = Field(
        default=30.0,
        gt=0,
        description="the wait before a failed delivery's second attempt (then x3 each time); "
        "lower it only for tests: the default schedule spans the contract's 24 h",
    )
    receiver_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated IPs or CIDRs of the TLS-terminating proxies whose "
        "X-Forwarded-Proto / X-Forwarded-For are believed (session cookies then `Secure`); "
        "empty: nobody's; `*`: everybody's (only when nothing but the proxy can connect)",
    )

    @field_validator("internal_api_token", "webhook_secret", "secret_key", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        """`BCS_SECRET_KEY=` (empty) means "generate one", never "sign with an empty key"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("internal_api_token", "secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        """A typo must fail at start-up: uvicorn would take it as a literal host name that no
        client ever matches, and cookies would silently lose `Secure`."""
        normalised = []
        for item in value:
            try:
                if item == "*":
                    normalised.append(item)
                elif "/" in item:  # `10.0.0.1/8` means `10.0.0.0/8`, as uvicorn cannot read it
                    normalised.append(str(ipaddress.ip_network(item, strict=False)))
                else:
                    normalised.append(str(ipaddress.ip_address(item)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return normalised

    def platform_base_url(self) -> str:
        return (self.platform_url or INPROCESS_BASE_URL).rstrip("/")

    def plugin_webhook_url(self) -> str:
        base = (self.plugin_url or self.platform_base_url()).rstrip("/")
        return f"{base}/plugins/automation/webhook"

    def with_generated_secrets(self) -> Settings:
        """Fill every unset secret from `var/secrets/`, generating and storing it on first use."""
        updates: dict[str, SecretStr] = {}
        if self.internal_api_token is None:
            updates["internal_api_token"] = SecretStr(
                _stored_secret(
                    self.var_dir, "internal_api_token", lambda: secrets.token_urlsafe(32)
                )
            )
        if self.webhook_secret is None:
            updates["webhook_secret"] = SecretStr(
                _stored_secret(
                    self.var_dir,
                    "webhook_secret",
                    lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                )
            )
        if self.secret_key is None:
            updates["secret_key"] = SecretStr(
                _stored_secret(self.var_dir, "secret_key", lambda: secrets.token_urlsafe(48))
            )
        return self.model_copy(update=updates) if updates else self


MIN_SECRET_LENGTH = 32


def _stored_secret(var_dir: Path, name: str, generate: Callable[[], str]) -> str:
    """Read `var/secrets/<name>`, or create it with mode 0600 (first writer wins).

    The value is written to a private temporary file and linked into place, so a process
    starting at the same moment never reads a half-written (or empty) secret; a stored value
    that is too short is refused rather than trusted.
    """
    directory = var_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / name
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    value = path.read_text().strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return value
