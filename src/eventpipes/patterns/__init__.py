"""EventBridge event patterns: parse, validate, compile, and match many rules at once.

Pure core: no Kafka, no I/O. ``compile_pattern`` checks a pattern as EventBridge
would (raising :class:`InvalidEventPattern` with EventBridge's reason and the
path), ``Pattern.matches`` and ``matches`` test one pattern, and ``Ruler`` holds
many named patterns in one machine (see :mod:`eventpipes.patterns.machine`).
"""

from __future__ import annotations

from eventpipes.patterns.errors import InvalidEventPattern
from eventpipes.patterns.pattern import Pattern, compile_pattern, matches
from eventpipes.patterns.ruler import Ruler

__all__ = ["InvalidEventPattern", "Pattern", "Ruler", "compile_pattern", "matches"]
