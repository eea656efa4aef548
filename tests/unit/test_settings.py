from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bettercallsold.bus.retry_policy import retry_after_seconds
from bettercallsold.settings import MIN_SECRET_LENGTH, Settings


class TestGeneratedSecrets:
    def test_an_empty_secret_key_means_generate_one(self, tmp_path: Path) -> None:
        settings = Settings(var_dir=tmp_path, secret_key="").with_generated_secrets()
        assert settings.secret_key is not None
        assert len(settings.secret_key.get_secret_value()) >= MIN_SECRET_LENGTH

    def test_a_short_secret_key_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="at least"):
            Settings(secret_key="short")

    def test_secrets_are_generated_once_and_kept_private(self, tmp_path: Path) -> None:
        first = Settings(var_dir=tmp_path).with_generated_secrets()
        second = Settings(var_dir=tmp_path).with_generated_secrets()
        assert first.secret_key == second.secret_key
        assert first.webhook_secret is not None
        assert first.webhook_secret.get_secret_value().startswith("whsec_")
        secrets_dir = tmp_path / "secrets"
        assert secrets_dir.stat().st_mode & 0o777 == 0o700
        assert all(p.stat().st_mode & 0o077 == 0 for p in secrets_dir.iterdir())

    def test_a_truncated_stored_secret_is_refused_not_trusted(self, tmp_path: Path) -> None:
        Settings(var_dir=tmp_path).with_generated_secrets()
        (tmp_path / "secrets" / "secret_key").write_text("")
        os.chmod(tmp_path / "secrets" / "secret_key", 0o600)
        with pytest.raises(ValueError, match="shorter than"):
            Settings(var_dir=tmp_path).with_generated_secrets()


class TestRetention:
    def test_thirty_days_by_default(self) -> None:
        assert Settings.model_fields["retention_days"].default == 30

    def test_less_than_the_receivers_seven_day_keys_and_a_day_is_refused(self) -> None:
        assert Settings(retention_days=8).retention_days == 8
        with pytest.raises(ValidationError, match="greater than or equal to 8"):
            Settings(retention_days=7)


class TestRetryAfterFromAnUntrustedReceiver:
    NOW = datetime(2026, 11, 26, tzinfo=UTC)

    @pytest.mark.parametrize("value", ["²", "9" * 400, "9" * 5000, "1e9", "-5", "soon"])
    def test_odd_values_are_ignored_not_raised(self, value: str) -> None:
        assert retry_after_seconds(value, self.NOW) is None

    def test_plain_seconds_are_honoured(self) -> None:
        assert retry_after_seconds(" 120 ", self.NOW) == 120.0


class TestTrustedProxies:
    def test_none_by_default(self) -> None:
        assert Settings().trusted_proxies == []

    def test_read_comma_separated_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BCS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")
        assert Settings().trusted_proxies == ["10.0.0.0/8", "127.0.0.1", "::1"]

    def test_a_network_with_host_bits_is_its_network(self) -> None:
        assert Settings(trusted_proxies="10.1.2.3/16").trusted_proxies == ["10.1.0.0/16"]

    @pytest.mark.parametrize("value", ["10.0.0.300", "proxy.internal", "10.0.0.0/33"])
    def test_a_typo_fails_at_start_up(self, value: str) -> None:
        with pytest.raises(ValidationError, match="not an IP address or CIDR network"):
            Settings(trusted_proxies=value)
