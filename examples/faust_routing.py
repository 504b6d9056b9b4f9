"""A Faust app with eventpipes' filtering and routing added (docs/faust.md).

    pip install 'eventpipes[faust]'
    faust -A examples.faust_routing worker -l info --without-web     # from the repository's root
    eventpipes run topologies/orders.yaml --role delivery --group orders-delivery

* ``big_orders``: an ordinary Faust agent whose stream is filtered with an EventBridge pattern
  (``EventPattern``); matches are forwarded to topic ``orders.big`` (``EVENTPIPES_FILTER_SINK``).
* ``route_bus``: routes the ``orders`` bus of ``topologies/orders.yaml`` to its rules' delivery
  topics; eventpipes' delivery workers of group ``orders-delivery`` deliver to the targets.

Environment (all optional): ``FAUST_APP_ID``, ``FAUST_DATADIR``, ``KAFKA_BOOTSTRAP_SERVERS``,
``EVENTPIPES_TOPOLOGY``, ``EVENTPIPES_BUS``, ``EVENTPIPES_GROUP``, ``EVENTPIPES_FILTER_SOURCE``,
``EVENTPIPES_FILTER_SINK``, ``EVENTPIPES_FILTER_PATTERN`` (JSON), ``EVENTPIPES_PRODUCER``
(``batched``, the default, or ``faust``: see ``route_bus``). The integration tests
(tests/integration/test_faust_*.py) run this file with names of their own.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from eventpipes.faust import EventPattern, route_bus
from eventpipes.kafka.topics import bus_topic

BUS = os.environ.get("EVENTPIPES_BUS", "orders")

app = faust.App(
    os.environ.get("FAUST_APP_ID", "orders-faust"),
    broker=f"kafka://{os.environ.get('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092')}",
    datadir=os.environ.get("FAUST_DATADIR", "orders-faust-data"),
    web_enabled=False,  # `faust worker` overrides this with its --with-web/--without-web flag
    # A crashed worker's partitions move to the others (or to its restart) after this long;
    # Faust's default of 60 s held a restarted worker back for a minute. eventpipes' own worker uses 10 s.
    broker_session_timeout=10.0,
    # A bus record may reach 2 MB (a 1 MB entry and its envelope); Faust's producer refuses
    # records over 1,000,000 bytes by default, and the route would hold the bus on the first.
    producer_max_request_size=4 * 1024 * 1024,
)

# Filtering: a stream of EventBridge events (JSON), kept where the pattern matches.
events = app.topic(os.environ.get("EVENTPIPES_FILTER_SOURCE", bus_topic(BUS)), value_serializer="json")
big = app.topic(os.environ.get("EVENTPIPES_FILTER_SINK", "orders.big"), value_serializer="json")
BIG_ORDER = EventPattern(os.environ.get("EVENTPIPES_FILTER_PATTERN",
                                        '{"detail-type": ["OrderPlaced"], "detail": {"total": [{"numeric": [">", 1000]}]}}'))


@app.agent(events)
async def big_orders(stream: Any) -> None:
    async for event in stream.filter(BIG_ORDER):
        await big.send(value=event)


# Routing: every rule of the bus at once, onto the delivery topics eventpipes' workers drain.
route = route_bus(app, BUS, os.environ.get("EVENTPIPES_TOPOLOGY", "topologies/orders.yaml"),
                  group=os.environ.get("EVENTPIPES_GROUP", "orders-delivery"),
                  producer="faust" if os.environ.get("EVENTPIPES_PRODUCER") == "faust" else "batched")

if __name__ == "__main__":
    app.main()
