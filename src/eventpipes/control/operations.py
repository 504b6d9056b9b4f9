"""The table of operations the control plane serves, and applying a request record with it.

Pure: the operation modules hold the rules; this module only dispatches.
"""

from __future__ import annotations

import json
from typing import Any, Final

from eventpipes.control import buses, connections, destinations, pipes, rules, tags
from eventpipes.control.errors import ControlPlaneError, UnknownOperationException, ValidationException
from eventpipes.control.operation import Body, Context, Operation
from eventpipes.control.state import ControlState, Request

OPERATIONS: Final[dict[str, Operation]] = {
    operation.name: operation for module in (buses, rules, connections, destinations, pipes, tags) for operation in module.OPERATIONS
}


def operation_named(name: str) -> Operation:
    """The operation called ``name``.

    Raises:
        UnknownOperationException: no such operation.
    """
    found = OPERATIONS.get(name)
    if found is None:
        raise UnknownOperationException(f"Operation {name} is not supported.")
    return found


def prepare(operation: Operation, request: Any, context: Context) -> Body:
    """Check and prepare ``request`` for ``operation`` (``Operation.prepare``), never raising anything but ControlPlaneError.

    The checks walk the request member by member; a shape they did not foresee (a number
    where a structure belongs, deep inside) still gets a typed answer naming the operation.

    Raises:
        ControlPlaneError: the request is refused.
    """
    if not isinstance(request, dict):
        raise ValidationException("The request must be a JSON object.")
    try:
        body = operation.prepare(request, context)
        json.dumps(body)  # what the log will hold
        return body
    except ControlPlaneError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise ValidationException(f"The {operation.name} request is not valid: {type(exc).__name__}: {exc}") from exc


def apply(state: ControlState, request: Request, context: Context) -> Body:
    """Apply one request record to ``state`` and return the response for its writer.

    Raises:
        ControlPlaneError: the rules refuse it (or the operation is unknown); the state is unchanged.
    """
    state.applied += 1
    operation = operation_named(request.operation)
    if operation.apply is None:
        raise UnknownOperationException(f"Operation {request.operation} changes nothing and is never written.")
    return operation.apply(state, request.body, request.time_ms, context)
