"""``eventpipes export``: the store as a topology file that ``eventpipes apply`` accepts.

The document has EventBridge's keys, as a topology file is written by hand: members at their
default are left out (a rule's ``EventBusName`` and an archive's are always written), event
patterns and pipe filters are mappings. Every connection secret is written as
``STORED_SECRET``, never in clear: ``apply`` reads it as "keep the stored secret", so applying
the export changes nothing. Pure (ruamel.yaml writes the text).
"""

from __future__ import annotations

import io
import json
from typing import Any, Final

from ruamel.yaml import YAML

from eventpipes.control.connections import secret_places
from eventpipes.control.requests import plain
from eventpipes.topology.model import STORED_SECRET, Connection, Topology

HEADER: Final = ("# Written by `eventpipes export`: the control plane's store as a topology file.\n"
                 f"# Connection secrets read {STORED_SECRET!r}: `eventpipes apply` keeps the stored secret for them.\n")


def document(topology: Topology) -> dict[str, Any]:
    """``topology`` as a topology file's mapping (sections it has none of are left out)."""
    sections: dict[str, Any] = {
        "EventBuses": [plain(bus, defaults=False) for bus in topology.event_buses],
        "Connections": [_connection(connection) for connection in topology.connections],
        "ApiDestinations": [plain(destination, defaults=False) for destination in topology.api_destinations],
        "Rules": [{"Name": rule.name, "EventBusName": rule.event_bus_name, **plain(rule, defaults=False)} for rule in topology.rules],
        "Archives": [{"ArchiveName": a.name, "EventBusName": a.event_bus_name, **plain(a, defaults=False)} for a in topology.archives],
        "Pipes": [_pipe(plain(pipe, defaults=False)) for pipe in topology.pipes],
    }
    return {section: items for section, items in sections.items() if items}


def _connection(connection: Connection) -> dict[str, Any]:
    body: dict[str, Any] = plain(connection, defaults=False)
    body.pop("Unusable", None)
    for holder, key, _ in list(secret_places(body["AuthParameters"])):
        holder[key] = STORED_SECRET
    return body


def _pipe(body: dict[str, Any]) -> dict[str, Any]:
    """Filter patterns as mappings (as pipe files write them) where they parse as one."""
    for item in (body.get("SourceParameters", {}).get("FilterCriteria") or {}).get("Filters", []):
        try:
            pattern = json.loads(item["Pattern"])
        except ValueError:
            continue
        if isinstance(pattern, dict):
            item["Pattern"] = pattern
    return body


def to_yaml(topology: Topology) -> str:
    """The topology file's text."""
    yaml = YAML()  # round-trip mode keeps the members in the order written above (the safe dumper sorts them)
    yaml.default_flow_style = False
    yaml.width = 120
    out = io.StringIO()
    yaml.dump(document(topology), out)
    return HEADER + out.getvalue()
