from eventpipes.kafka.topics import CONTROL_TOPIC
from eventpipes.settings import Settings


def test_default_control_topic_is_the_one_topics_names() -> None:
    # settings.py is pure and cannot import kafka.topics, so the default is written twice.
    assert Settings().control_topic == CONTROL_TOPIC
