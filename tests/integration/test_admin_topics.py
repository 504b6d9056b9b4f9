"""``Admin``'s topic deletion against the real broker: deleting is idempotent."""

from __future__ import annotations

from eventpipes.testing import KafkaCluster, unique_name


def test_deleting_topics_already_gone_deletes_the_rest(kafka: KafkaCluster) -> None:
    kept, gone = unique_name("t"), unique_name("t")
    kafka.create_topic(kept)
    kafka.admin.delete_topics([gone, kept])  # the first is unknown to the broker: the second still goes
    assert kept not in kafka.admin.topics()
    kafka.admin.delete_topic(gone)  # no error for a topic that is not there
