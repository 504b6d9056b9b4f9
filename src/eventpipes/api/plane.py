"""Resource operations passed to the control plane: the endpoint is their protocol layer only.

``ControlPlane.invoke(operation, request)`` takes and returns AWS's JSON shapes (timestamps
as epoch seconds) and raises ``ControlPlaneError`` with AWS's ``code`` and ``message``; paging
(``NextToken``, ``Limit``) is the plane's too. The plane is opened on the first such call,
so an endpoint serving only PutEvents never reads the store.

``TestEventPattern`` is not passed: the endpoint answers it with ``eventpipes.patterns``
directly (the plane's answer would be the same), so it needs no store.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from eventpipes.control import ControlPlane
from eventpipes.settings import Settings

#: EventBridge operations the control plane answers.
EVENTS_OPERATIONS = (
    "CreateEventBus", "DescribeEventBus", "ListEventBuses", "UpdateEventBus", "DeleteEventBus",
    "PutRule", "DescribeRule", "ListRules", "DeleteRule", "EnableRule", "DisableRule",
    "PutTargets", "RemoveTargets", "ListTargetsByRule", "ListRuleNamesByTarget",
    "CreateConnection", "DescribeConnection", "ListConnections", "UpdateConnection", "DeleteConnection",
    "CreateApiDestination", "DescribeApiDestination", "ListApiDestinations", "UpdateApiDestination",
    "DeleteApiDestination", "TagResource", "UntagResource", "ListTagsForResource",
)
#: Pipes operations the control plane answers (its tag operations tell Pipes' shape, ``resourceArn``
#: and a ``tags`` map, from EventBridge's by the member names).
PIPES_OPERATIONS = ("CreatePipe", "DescribePipe", "UpdatePipe", "DeletePipe", "ListPipes", "StartPipe", "StopPipe",
                    "TagResource", "UntagResource", "ListTagsForResource")


class Plane(Protocol):
    """What the endpoint needs of the control plane (``eventpipes.control.ControlPlane``)."""

    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


class PlaneOperations:
    """Calls ``invoke`` on a plane given, or on ``eventpipes.control.ControlPlane`` opened when first needed."""

    def __init__(self, settings: Settings, plane: Plane | None = None) -> None:
        self._settings = settings
        self._plane = plane
        self._owned = plane is None  # a plane given by the caller is the caller's to close
        self._lock = threading.Lock()

    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """The plane's answer; its ``ControlPlaneError`` (any eventpipes error) becomes AWS's error answer upstream."""
        return self._get().invoke(operation, request)

    def _get(self) -> Plane:
        with self._lock:
            if self._plane is None:
                self._plane = ControlPlane(self._settings)  # reads the store to its end; BrokerUnavailable if Kafka is away
            return self._plane

    def close(self) -> None:
        with self._lock:
            if self._owned and isinstance(self._plane, ControlPlane):
                self._plane.close()
                self._plane = None
