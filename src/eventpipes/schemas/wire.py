"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body.

Pure: bytes in, bytes out. The serde adds where a record came from to the errors raised here.
"""

from __future__ import annotations

import struct

from eventpipes.schemas.errors import BadMagicByte, TruncatedFrame

MAGIC_BYTE = 0
#: ``>bI``: signed magic byte, unsigned 32-bit id, no padding; 5 bytes.
HEADER = struct.Struct(">bI")
HEADER_SIZE = HEADER.size
MAX_SCHEMA_ID = 2**31 - 1


def header(schema_id: int) -> bytes:
    """The 5 bytes that precede an Avro body written with schema ``schema_id``."""
    if not 0 <= schema_id <= MAX_SCHEMA_ID:
        raise ValueError(f"schema id {schema_id} is out of range")
    return HEADER.pack(MAGIC_BYTE, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """``body`` with its header."""
    return header(schema_id) + body


def read_header(data: bytes) -> int:
    """The schema id of a framed value.

    Raises:
        TruncatedFrame: fewer than 5 bytes.
        BadMagicByte: the first byte is not 0.
    """
    if len(data) < HEADER_SIZE:
        raise TruncatedFrame(f"{len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, schema_id = HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise BadMagicByte(f"magic byte {magic & 0xFF:#04x}, expected 0x00")
    return int(schema_id)


def unframe(data: bytes) -> tuple[int, bytes]:
    """The schema id and the Avro body of a framed value (same errors as :func:`read_header`)."""
    return read_header(data), data[HEADER_SIZE:]
