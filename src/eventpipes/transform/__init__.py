"""EventBridge input transformation: what a rule target receives instead of the whole event.

Pure core: no Kafka, no I/O. A target is given the whole event, a constant
(``Input``), the part of the event a JSONPath selects (``InputPath``), or a template
filled from variables (``InputTransformer``: ``InputPathsMap`` + ``InputTemplate``)
and the reserved ``aws.events.*`` variables. :func:`target_input_from_dict` reads and
validates the target's keys as ``PutTargets`` does; :func:`render` gives the exact bytes
the target receives. The placeholder engine in :mod:`eventpipes.transform.template`
is shared with EventBridge Pipes input templates.

Differences from EventBridge
----------------------------
* A string value inserted *inside quotes* in a JSON template is JSON-escaped, so a value
  holding ``"``, ``\\`` or a newline still gives valid JSON. EventBridge documents that it
  does not escape such values, which yields broken JSON that targets then reject.
* JSON paths are checked when the target is loaded, against the documented subset
  (dot notation, array indices, wildcards; bracket notation in ``InputPath`` only).
  EventBridge accepts any text there and evaluates it at delivery.
* A JSON template must be valid JSON once filled, checked at load; EventBridge's
  behaviour for a malformed one is undocumented.
* An ``InputPath`` that matches nothing gives an empty body here (EventBridge does not
  document this case); the target still receives a delivery, so nothing is lost silently.
* The CloudWatch Logs target's special unquoted ``"timestamp": <timestamp>`` output (in
  EventBridge's examples) is target-specific and not reproduced: the value is quoted.
* ``<aws.events.event>`` takes ``time`` from the envelope's ``time``.
* A placeholder inside quotes in a JSON template whose value is an object or array: EventBridge
  accepts the rule and the event and delivers nothing to that target. Here rendering raises
  :class:`ObjectInsideQuotes` (non-retryable), so the event goes to the target's dead-letter
  topic with that reason rather than vanishing (and is logged when the target has none).

Matching EventBridge (recorded deliveries): in a text template an object or array is written
in EventBridge's compact unquoted form (``{a:x-1,b:y}``, ``[A,B]``); see
:mod:`eventpipes.transform.template` for the nested cases.
"""

from __future__ import annotations

from eventpipes.transform.errors import (
    InvalidInputTransformer,
    InvalidJsonPath,
    InvalidTargetInput,
    ObjectInsideQuotes,
    TransformFailed,
)
from eventpipes.transform.jsonpath import MISSING, JsonPath, parse_path
from eventpipes.transform.model import (
    ConstantInput,
    InputTransformer,
    PathInput,
    TargetInput,
    TemplateInput,
    target_input_from_dict,
)
from eventpipes.transform.render import render, transform
from eventpipes.transform.template import Flavour, Quoting, Template, format_value, parse_template, unquoted

__all__ = [
    "MISSING",
    "ConstantInput",
    "Flavour",
    "InputTransformer",
    "InvalidInputTransformer",
    "InvalidJsonPath",
    "InvalidTargetInput",
    "JsonPath",
    "ObjectInsideQuotes",
    "PathInput",
    "Quoting",
    "TargetInput",
    "Template",
    "TemplateInput",
    "TransformFailed",
    "format_value",
    "parse_path",
    "parse_template",
    "render",
    "target_input_from_dict",
    "transform",
    "unquoted",
]
