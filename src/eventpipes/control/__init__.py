"""The control plane: EventBridge and Pipes resources kept in Kafka, changed while workers run.

``ControlPlane.invoke(operation, request)`` serves EventBridge's and Pipes' operations in
the AWS API's JSON shapes; ``snapshot()`` gives the store as a topology and ``follow()``
calls back on every change. See ``log.py`` for how the store works.
"""

from eventpipes.control.errors import (
    ConcurrentModificationException,
    ConflictException,
    ControlPlaneError,
    InternalException,
    InvalidEventPatternException,
    InvalidStateException,
    LimitExceededException,
    NotFoundException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    UnknownOperationException,
    ValidationException,
)
from eventpipes.control.plane import ControlPlane

__all__ = [
    "ConcurrentModificationException",
    "ConflictException",
    "ControlPlane",
    "ControlPlaneError",
    "InternalException",
    "InvalidEventPatternException",
    "InvalidStateException",
    "LimitExceededException",
    "NotFoundException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "UnknownOperationException",
    "ValidationException",
]
