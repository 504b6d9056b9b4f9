"""The state as a topology (``eventpipes.topology.model.Topology``): what a worker runs.

Pure: a function of the state (and, for connection secrets, the key this process holds).
"""

from __future__ import annotations

from eventpipes.arns import DEFAULT_BUS
from eventpipes.control.operation import Context
from eventpipes.control.state import ControlState
from eventpipes.topology.model import EventBus, Topology


def to_topology(state: ControlState, context: Context) -> Topology:
    """Every resource in ``state`` as the topology model holds it."""
    buses = tuple(
        EventBus(Name=name, Description=bus.get("Description"))
        for name, bus in sorted(state.buses.items()) if name != DEFAULT_BUS or bus.get("Description") is not None
    )
    return Topology(EventBuses=buses)
