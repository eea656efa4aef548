from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from bettercallsold.outbound.errors import UnresolvableHost, UrlRefused
from bettercallsold.outbound.url_guard import (
    ParsedUrl,
    Pinned,
    Resolver,
    Target,
    check_url,
    forbidden_reason,
    parse_url,
    pin,
)


def resolver_of(mapping: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[str]:
        del port
        if host not in mapping:
            raise UnresolvableHost(f"{host} does not resolve")
        return mapping[host]

    return resolve


PUBLIC = resolver_of(
    {
        "hooks.example.com": ["93.184.216.34"],
        "dual.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
        "sneaky.example.com": ["::ffff:169.254.169.254"],
        "empty.example.com": [],
    }
)


class TestParseUrl:
    def test_http_and_https_with_default_ports(self) -> None:
        assert parse_url("https://a.example/x") == ParsedUrl(
            "https", "a.example", 443, "https://a.example/x"
        )
        assert parse_url("http://a.example:8080/").port == 8080

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("ftp://a.example/", "http:// or https://"),
            ("a.example/hook", "http:// or https://"),
            ("http:///path", "no host"),
            ("https://user:pw@a.example/", "credentials"),
            ("http://a.example:99999/", "not a valid URL"),
            ("http://a.example/a b", "spaces"),
        ],
    )
    def test_refuses_bad_shapes(self, url: str, reason: str) -> None:
        with pytest.raises(UrlRefused, match=reason):
            parse_url(url)


class TestForbiddenReason:
    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.5.4", "private"),
            ("192.168.1.1", "private"),
            ("fd12:3456::1", "private"),
            ("169.254.169.254", "metadata"),
            ("fd00:ec2::254", "metadata"),
            ("100.100.100.200", "metadata"),
            ("169.254.10.10", "link-local"),
            ("fe80::1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("240.0.0.1", "private"),  # reserved, which Python files as private
            ("100.64.0.1", "not a public address"),
            ("::ffff:127.0.0.1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("2002:a00:1::", "private"),
        ],
    )
    def test_refuses_non_public_addresses(self, address: str, reason: str) -> None:
        found = forbidden_reason(ipaddress.ip_address(address))
        assert found is not None
        assert reason in found

    @pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
    def test_allows_public_addresses(self, address: str) -> None:
        assert forbidden_reason(ipaddress.ip_address(address)) is None


class TestCheckUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[fd00:ec2::254]/",
            "http://0.0.0.0:8000/",
            "http://internal.example.com/hook",
            "http://mixed.example.com/hook",
            "https://sneaky.example.com/hook",
        ],
    )
    async def test_refuses_urls_reaching_private_networks(self, url: str) -> None:
        with pytest.raises(UrlRefused):
            await check_url(url, allow_private=False, resolver=PUBLIC)

    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost:9913/",
            "http://localhost.:9913/",
            "http://LocalHost/",
            "http://app.localhost/",
            "http://printer.local/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://metadata.google.internal./computeMetadata/v1/",
            "http://nas.home.arpa/",
            "http://box.localdomain/",
            "http://127.0.0.1.:9913/",
        ],
    )
    async def test_refuses_local_network_names_without_resolving_them(self, url: str) -> None:
        """Refused by name: in a sandbox without DNS they would not resolve, and a name that
        does not resolve yet is otherwise accepted (and re-checked at every attempt)."""

        async def never(host: str, port: int) -> Sequence[str]:
            raise AssertionError(f"{host} was resolved")

        with pytest.raises(UrlRefused, match=r"local network name|loopback"):
            await check_url(url, allow_private=False, resolver=never)

    async def test_local_names_are_allowed_with_private_urls(self) -> None:
        local = resolver_of({"localhost": ["127.0.0.1", "::1"]})
        target = await check_url("http://localhost:9/x", allow_private=True, resolver=local)
        assert target == Target("http://localhost:9/x", ipaddress.ip_address("127.0.0.1"))

    async def test_names_the_resolved_address(self) -> None:
        with pytest.raises(UrlRefused, match=r"internal\.example\.com resolves to 10\.1\.2\.3"):
            await check_url("http://internal.example.com/", allow_private=False, resolver=PUBLIC)

    async def test_an_unresolvable_host_is_its_own_error(self) -> None:
        for host in ("nowhere.example.com", "empty.example.com"):
            with pytest.raises(UnresolvableHost):
                await check_url(f"https://{host}/", allow_private=False, resolver=PUBLIC)

    @pytest.mark.parametrize("scheme", ["http", "https"])
    async def test_returns_the_first_checked_address(self, scheme: str) -> None:
        target = await check_url(
            f"{scheme}://dual.example.com/in", allow_private=False, resolver=PUBLIC
        )
        assert target == Target(
            f"{scheme}://dual.example.com/in", ipaddress.ip_address("93.184.216.34")
        )

    async def test_allow_private_skips_the_rules_but_still_resolves_once(self) -> None:
        """The operator's switch allows private targets; it does not let httpx resolve the
        name a second time, so the answer is still the one connected to."""
        lookups: list[str] = []

        async def counting(host: str, port: int) -> Sequence[str]:
            lookups.append(host)
            return ["10.1.2.3"]

        target = await check_url(
            "https://internal.example.com/x", allow_private=True, resolver=counting
        )
        assert target.address == ipaddress.ip_address("10.1.2.3")
        assert lookups == ["internal.example.com"]

    async def test_allow_private_resolves_no_literal(self) -> None:
        async def never(host: str, port: int) -> Sequence[str]:
            raise AssertionError("nothing is resolved")

        target = await check_url("http://127.0.0.1:9/x", allow_private=True, resolver=never)
        assert target == Target("http://127.0.0.1:9/x", ipaddress.ip_address("127.0.0.1"))
        with pytest.raises(UrlRefused):
            await check_url("gopher://127.0.0.1/", allow_private=True, resolver=never)


class TestPin:
    def test_http_goes_to_the_address_with_the_name_in_host(self) -> None:
        target = Target(
            "http://hooks.example.com:8080/in?x=1", ipaddress.ip_address("93.184.216.34")
        )
        assert pin(target) == Pinned(
            "http://93.184.216.34:8080/in?x=1", host_header="hooks.example.com:8080"
        )

    def test_https_keeps_the_name_for_tls(self) -> None:
        target = Target("https://hooks.example.com/in", ipaddress.ip_address("93.184.216.34"))
        assert pin(target) == Pinned(
            "https://93.184.216.34/in",
            host_header="hooks.example.com",
            sni_hostname="hooks.example.com",
        )

    def test_ipv6_addresses_are_bracketed(self) -> None:
        target = Target("http://hooks.example.com/in", ipaddress.ip_address("2606:4700::1111"))
        assert pin(target) == Pinned("http://[2606:4700::1111]/in", host_header="hooks.example.com")

    def test_an_international_name_is_sent_in_its_ascii_form(self) -> None:
        target = Target("https://bücher.example/in", ipaddress.ip_address("93.184.216.34"))
        pinned = pin(target)
        assert pinned.host_header == pinned.sni_hostname == "xn--bcher-kva.example"

    @pytest.mark.parametrize(
        "target",
        [
            Target("https://93.184.216.34/in", ipaddress.ip_address("93.184.216.34")),
            Target("http://bcs.internal/hook"),  # an operator URL: not pinned
        ],
    )
    def test_a_literal_address_or_an_operator_url_is_sent_as_it_is(self, target: Target) -> None:
        assert pin(target) == Pinned(target.url)


@pytest.mark.parametrize("url", ["http://bcs.internal/x", "https://BCS.INTERNAL./hook"])
def test_the_in_process_host_name_is_reserved(url: str) -> None:
    with pytest.raises(UrlRefused, match="reserved"):
        parse_url(url)
