"""The registry client when no registry answers: retryable, never a dead-letter case."""

from __future__ import annotations

import socket

import pytest

from eventpipes.schemas import wire
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.errors import RegistryUnavailable
from eventpipes.schemas.serde import AvroDeserializer


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_registry_is_retryable_and_not_undecodable() -> None:
    with RegistryClient(f"http://127.0.0.1:{closed_port()}", timeout_seconds=2) as client:
        with pytest.raises(RegistryUnavailable) as info:
            client.schema_by_id(1)
        assert info.value.retryable
        with pytest.raises(RegistryUnavailable):
            AvroDeserializer(client).deserialize(wire.frame(1, b"\x02"), topic="t", partition=0, offset=1)
