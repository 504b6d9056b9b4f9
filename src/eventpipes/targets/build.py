"""From a target's spec to a ready target: the kind's class, named in the kinds table."""

from __future__ import annotations

import importlib
from typing import Any

from eventpipes.targets.base import InvocationTarget, RecordTarget, TargetContext, TargetSpec


def make_target(spec: TargetSpec, context: TargetContext) -> RecordTarget | InvocationTarget:
    """An instance of the spec's kind (its class named in the kinds table).

    Raises:
        ConfigurationError: the kind's class cannot use the spec (a function that cannot be imported).
    """
    module_name, _, class_name = spec.kind.factory.partition(":")
    factory: Any = getattr(importlib.import_module(module_name), class_name)
    target: RecordTarget | InvocationTarget = factory(spec, context)
    return target
