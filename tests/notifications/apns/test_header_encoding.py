"""The HPACK encoder of our APNs connections: header blocks any HPACK decoder reads back exactly, with the peer's
dynamic table left empty, so that a cached field stays valid whatever was sent before."""

from __future__ import annotations

from hpack import Decoder

from notifications.channels.apns_h2 import IndexFreeEncoder

TOKEN_JWT = b"bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ0ZWFtIn0.c2lnbmF0dXJl"


def request_headers(n: int) -> list[tuple[bytes, bytes]]:
    return [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":path", b"/3/device/%064x" % n),
        (b"host", b"api.push.apple.com"),
        (b"apns-id", b"00000000-0000-4000-8000-%012d" % n),
        (b"apns-topic", b"cn.gov.zsb.app"),
        (b"apns-expiration", b"%d" % (1_800_000_000 + n)),
        (b"apns-priority", b"10"),
        (b"apns-collapse-id", b"%032x" % n),
        (b"apns-push-type", b"alert"),
        (b"authorization", TOKEN_JWT),
    ]


class TestIndexFreeEncoder:
    def test_a_decoder_reads_every_block_back_and_its_dynamic_table_stays_empty(self) -> None:
        encoder, decoder = IndexFreeEncoder(), Decoder()
        for n in range(300):
            headers = request_headers(n)
            assert decoder.decode(encoder.encode(headers), raw=True) == headers
        assert len(decoder.header_table.dynamic_entries) == 0

    def test_the_shared_fields_are_kept_and_the_per_request_ones_are_not(self) -> None:
        encoder = IndexFreeEncoder()
        for n in range(50):
            encoder.encode(request_headers(n))
        kept_names = {name for name, _ in encoder._kept}
        assert kept_names == {
            b":method",
            b":scheme",
            b"host",
            b"apns-topic",
            b"apns-priority",
            b"apns-push-type",
            b"authorization",
        }

    def test_a_table_size_change_from_the_peer_is_acknowledged_at_the_start_of_the_next_block(self) -> None:
        encoder, decoder = IndexFreeEncoder(), Decoder()
        decoder.decode(encoder.encode(request_headers(1)), raw=True)
        encoder.header_table_size = 0
        block = encoder.encode(request_headers(2))
        assert block[0] & 0xE0 == 0x20  # a dynamic table size update first (RFC 7541 §6.3)
        assert decoder.decode(block, raw=True) == request_headers(2)
        assert decoder.header_table.maxsize == 0

    def test_text_headers_are_encoded_like_bytes(self) -> None:
        encoder, decoder = IndexFreeEncoder(), Decoder()
        block = encoder.encode([(":method", "POST"), ("apns-topic", "cn.gov.zsb.app"), ("x-note", "演示")])
        decoded = [(str(name), str(value)) for name, value in decoder.decode(block)]
        assert decoded == [(":method", "POST"), ("apns-topic", "cn.gov.zsb.app"), ("x-note", "演示")]
