"""Which address a request counts as: only what the trusted proxies wrote is believed."""

from __future__ import annotations

import pytest

from api.web.clientip import client_address

PEER = "10.0.0.5"  # the proxy's address, as the socket sees it


def _headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in pairs]


@pytest.mark.parametrize(
    ("hops", "xff", "expected"),
    [
        (0, "198.51.100.7", PEER),  # no proxy trusted: the header is the client's own words
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged left part is ignored
        (2, "198.51.100.7, 104.16.0.1", "198.51.100.7"),  # Render: <client>, <Cloudflare edge>
        (2, "6.6.6.6, 198.51.100.7, 104.16.0.1", "198.51.100.7"),
        (2, "104.16.0.1", PEER),  # fewer entries than proxies: it did not come through them
        (1, "not-an-address", PEER),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_address_takes_the_entry_the_trusted_proxies_added(hops, xff, expected):
    assert client_address(_headers(("X-Forwarded-For", xff)), PEER, hops=hops, header="") == expected


def test_several_forwarded_for_headers_are_read_as_one_list():
    headers = _headers(("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.7, 104.16.0.1"))
    assert client_address(headers, PEER, hops=2, header="") == "198.51.100.7"


def test_a_platform_header_wins_over_forwarded_for_and_is_ignored_unless_configured():
    headers = _headers(("Fly-Client-IP", "198.51.100.9"), ("X-Forwarded-For", "6.6.6.6, 198.51.100.7"))
    assert client_address(headers, PEER, hops=1, header="Fly-Client-IP") == "198.51.100.9"
    assert client_address(headers, PEER, hops=1, header="") == "198.51.100.7"
    assert client_address(headers, PEER, hops=0, header="") == PEER
