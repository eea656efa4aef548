"""Every setting of the system, typed, read from `BCS_*` environment variables.

Nothing else in the code reads `os.environ`: the CLI or the app factory builds one `Settings`
and passes it down, so tests can build their own without touching the process environment.
Secrets that are not given are generated once and kept under `var/` (mode 0600), so every
`bcs` process on the machine agrees on them without the user having to choose any.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    worker_concurrency: int = 10
    keep_finished_jobs: bool = Field(
        default=False,
        description="keep procrastinate's rows of succeeded jobs (our own tables keep every "
        "attempt and result; kept jobs only help debugging)",
    )
    webhook_timeout_seconds: float = 10.0
    receiver_timeout_seconds: float = 30.0
    log_level: str = "INFO"

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


def _stored_secret(var_dir: Path, name: str, generate: object) -> str:
    """Read `var/secrets/<name>`, or create it atomically with mode 0600 (first writer wins)."""
    directory = var_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    assert callable(generate)
    value = str(generate())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
