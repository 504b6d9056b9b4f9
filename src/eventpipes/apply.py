"""Applying a topology file to the store, and exporting the store: ``eventpipes apply`` and ``export``.

The store is two stores: the control plane's (buses, rules, targets, connections, API
destinations, pipes) and the archive store (archives, ``eventpipes.archive``). This module
reads both into one topology, plans with ``eventpipes.control.plan`` (pure), and runs the
plan's steps: the archive operations on the archive store, every other one through
``ControlPlane.invoke``, so each is checked and applied exactly as the AWS endpoint's would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from eventpipes.archive.model import Archive, StoredArchive
from eventpipes.arns import bus_of_arn
from eventpipes.control import ControlPlane, ControlPlaneError
from eventpipes.control.export import to_yaml
from eventpipes.control.operation import Body
from eventpipes.control.plan import Plan, Step, execute, plan
from eventpipes.topology.model import Topology


class Archives(Protocol):
    """What apply needs of the archive store (``eventpipes.archive.store.ArchiveStore``)."""

    def archives(self) -> dict[str, StoredArchive]: ...

    def create_archive(self, archive: Archive) -> Any: ...

    def ensure_archive(self, archive: Archive) -> Any: ...

    def delete_archive(self, name: str) -> None: ...


def store_topology(plane: ControlPlane, archives: Archives) -> Topology:
    """Everything in the store as a topology: the control plane's snapshot, with the archives."""
    return plane.snapshot().model_copy(update={"archives": tuple(stored.archive for _, stored in sorted(archives.archives().items()))})


def plan_topology(plane: ControlPlane, archives: Archives, desired: Topology, *, prune: bool = False) -> Plan:
    """What makes the store match ``desired`` (changes nothing).

    Raises:
        ApplyRefused: the file cannot be applied as it is.
    """
    current = store_topology(plane, archives)
    declared = {pipe.name for pipe in desired.pipes}
    stored = {pipe.name: _stored_pipe(plane, pipe.name) for pipe in current.pipes if pipe.name in declared}
    return plan(current, desired, plane.context, prune=prune, stored_pipes=stored)


def run_plan(plane: ControlPlane, archives: Archives, steps: Plan, done: Callable[[Step], None] = lambda step: None) -> None:
    """Make the plan's changes, calling ``done(step)`` after each.

    Raises:
        StepFailed: a step was refused; the steps before it stay applied.
    """
    execute(steps.steps, _invoker(plane, archives), done)


def apply_topology(plane: ControlPlane, archives: Archives, desired: Topology, *, prune: bool = False) -> Plan:
    """Make the store match ``desired``; the plan that did it.

    Raises:
        ApplyRefused: the file cannot be applied as it is; nothing was changed.
        StepFailed: a step was refused; the steps before it stay applied.
    """
    steps = plan_topology(plane, archives, desired, prune=prune)
    run_plan(plane, archives, steps)
    return steps


def export_text(plane: ControlPlane, archives: Archives) -> str:
    """The store as a topology file (secrets as ``<stored secret>``)."""
    return to_yaml(store_topology(plane, archives))


def _stored_pipe(plane: ControlPlane, name: str) -> Body:
    """The pipe as CreatePipe stored it (DescribePipe's answer without what Pipes adds to it)."""
    described = plane.invoke("DescribePipe", {"Name": name})
    return {k: v for k, v in described.items() if k not in ("Arn", "CurrentState", "CreationTime", "LastModifiedTime")}


def _invoker(plane: ControlPlane, archives: Archives) -> Callable[[str, Body], Body]:
    def invoke(operation: str, request: Body) -> Body:
        if operation == "CreateArchive":
            archives.create_archive(_archive(request))
        elif operation == "UpdateArchive":
            archives.ensure_archive(_archive(request))
        elif operation == "DeleteArchive":
            archives.delete_archive(request["ArchiveName"])
        else:
            return plane.invoke(operation, request)
        return {}

    return invoke


def _archive(request: Body) -> Archive:
    """The archive a plan's CreateArchive or UpdateArchive request stands for (``control.requests.archive_request``)."""
    bus = bus_of_arn(request["EventSourceArn"])
    if bus is None:  # written by archive_request, so always an event-bus ARN
        raise ControlPlaneError(f"EventSourceArn {request['EventSourceArn']} is not an event-bus ARN", code="ValidationException")
    fields = {k: v for k, v in request.items() if k != "EventSourceArn"}
    return Archive.model_validate({**fields, "EventBusName": bus})


__all__ = ["Archives", "apply_topology", "export_text", "plan_topology", "run_plan", "store_topology"]
