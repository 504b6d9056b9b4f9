"""A connection this worker cannot decrypt fails its targets retryably, sending nothing."""

from __future__ import annotations

import asyncio

import pytest

from eventpipes.errors import TargetFailed
from eventpipes.records import OutRecord
from eventpipes.targets.base import Item, TargetContext, TargetSpec
from eventpipes.targets.http import ApiDestinationTarget
from eventpipes.targets.kinds import kind_named
from eventpipes.targets.ratelimit import TokenBucket
from eventpipes.topology.model import ApiDestination, Connection


class NoSink:
    async def send_all(self, records: list[OutRecord]) -> None:
        raise AssertionError("an API destination target writes no records")


def test_unusable_connection_fails_before_any_request() -> None:
    destination = ApiDestination(Name="hook", ConnectionName="c", InvocationEndpoint="http://127.0.0.1:9/", HttpMethod="POST")
    connection = Connection(Name="c", AuthorizationType="API_KEY", Unusable="no key here",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "<unavailable>"}})
    context = TargetContext(NoSink(), "us-east-1", "123456789012",
                            api_destination=lambda name: (destination, connection, TokenBucket(1000)))

    async def run() -> None:
        target = ApiDestinationTarget(TargetSpec(kind_named("ApiDestination"), "hook", "rule"), context)
        try:
            with pytest.raises(TargetFailed) as caught:
                await target.invoke(Item(payload=b"{}"))
            assert caught.value.retryable and "connection c is unusable: no key here" in caught.value.message
        finally:
            await target.close()

    asyncio.run(run())
