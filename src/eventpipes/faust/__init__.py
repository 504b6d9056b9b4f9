"""eventpipes inside Faust apps (``pip install 'eventpipes[faust]'``).

* ``EventPattern`` and ``RuleSet``: EventBridge event patterns as stream predicates,
  ``stream.filter(EventPattern({"source": ["orders"]}))``.
* ``route_bus``: an agent that routes an eventpipes bus to its rules' delivery topics, as
  eventpipes' routing worker does, so eventpipes' delivery workers take it from there.

See docs/faust.md.
"""

from __future__ import annotations

try:
    import faust  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError("eventpipes.faust needs faust-streaming: pip install 'eventpipes[faust]'") from exc

from eventpipes.faust.errors import RouteConfigurationError
from eventpipes.faust.predicates import EventPattern, RuleSet
from eventpipes.faust.routing import BusRoute, route_bus

__all__ = ["BusRoute", "EventPattern", "RouteConfigurationError", "RuleSet", "route_bus"]
