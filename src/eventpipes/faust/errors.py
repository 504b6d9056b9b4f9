"""Errors of the Faust surface: a route that cannot be built as asked."""

from __future__ import annotations

from eventpipes.errors import ConfigurationError


class RouteConfigurationError(ConfigurationError):
    """``route_bus`` was given something it cannot route: no rules for the bus, no group to deliver for."""

    code = "ValidationException"
