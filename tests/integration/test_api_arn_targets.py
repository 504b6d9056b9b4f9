"""AWS target and source ARNs, put with boto3, delivered by a real worker following the store (issue 18's mapping).

One worker runs without a topology file, following a control topic of this module's own;
boto3 builds rules and pipes through the endpoint with the ARNs an EventBridge program
uses, and each delivery is read where it lands: the Kafka topic an SQS, SNS or Kinesis ARN
stands for (with its record key), the bus an event-bus ARN names, the HTTP endpoint of an
API destination, and the Python function registered under a Lambda function's name.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from eventpipes.api import BackgroundEndpoint
from eventpipes.kafka.errors import TopicError
from eventpipes.kafka.topics import bus_topic
from eventpipes.testing import HttpReceiver, KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

SUPPORT = Path(__file__).parent / "support"
#: The Lambda function name the worker and the endpoint both register to a Python callable.
FUNCTIONS = "order-handler=recording_target:record"


@pytest.fixture(scope="module")
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("arn-targets")
    record_file = home / "calls.jsonl"
    record_file.touch()
    key = base64.b64encode(os.urandom(32)).decode()
    settings = kafka.settings.model_copy(update={"control_topic": unique_name("control"), "control_key": SecretStr(key),
                                                 "functions": FUNCTIONS})
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_CONTROL_TOPIC": settings.control_topic,
           "EVENTPIPES_CONTROL_KEY": key, "EVENTPIPES_FUNCTIONS": FUNCTIONS, "EVENTPIPES_TEST_RECORD_FILE": str(record_file),
           "EVENTPIPES_STATE_DIR": str(home / "state"),  # its pipes' states: the suite's end check must not see them
           "PYTHONPATH": f"{SUPPORT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    receiver = HttpReceiver()
    worker = WorkerProcess(None, group=unique_name("group"), web_port=free_port(), env=env,
                           log_file=str(home / "worker.log")).wait_ready()
    try:
        with BackgroundEndpoint(settings, keys={}) as url:
            yield {"url": url, "receiver": receiver, "record_file": record_file, "worker": worker}
    finally:
        worker.stop()
        receiver.close()
        kafka.admin.delete_topics([settings.control_topic])
    assert "Traceback" not in worker.log()


def client(world: dict[str, Any], service: str) -> Any:
    return boto3.client(service, endpoint_url=world["url"], region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def calls(world: dict[str, Any]) -> list[Any]:
    """What the registered function received, in order."""
    return [json.loads(line)["payload"] for line in world["record_file"].read_text().splitlines()]


def records(kafka: KafkaCluster, topic: str) -> list[Any]:
    """What ``topic`` holds; nothing while the worker has not created it yet."""
    try:
        return kafka.read_all(topic, timeout=2)
    except TopicError:
        return []


def applied(kafka: KafkaCluster, events: Any, bus: str, sentinel: str) -> None:
    """Wait until the worker runs everything created so far: the last target put (``sentinel``) receives."""
    def arrived() -> bool:
        events.put_events(Entries=[{"Source": "shop", "DetailType": "probe", "Detail": "{}", "EventBusName": bus}])
        return bool(records(kafka, sentinel))

    wait_until(arrived, timeout=90, interval=1.0, what="the worker applying the store's changes")


def test_rule_targets_by_aws_arn_reach_what_they_stand_for(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    events, account = client(world, "events"), kafka.settings.account
    bus, other = unique_name("bus"), unique_name("bus")
    fifo, stream, sns, sentinel = f"{unique_name('q')}.fifo", unique_name("stream"), unique_name("sns"), unique_name("sentinel")
    for name in (bus, other):
        events.create_event_bus(Name=name)
    connection = events.create_connection(Name=unique_name("conn"), AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}})["ConnectionArn"]
    destination = events.create_api_destination(Name=unique_name("dest"), ConnectionArn=connection, HttpMethod="POST",
                                                InvocationEndpoint=world["receiver"].url + "/hook")["ApiDestinationArn"]
    pattern = json.dumps({"source": ["shop"], "detail-type": ["order"]})
    events.put_rule(Name="aws", EventBusName=bus, EventPattern=pattern)
    answer = events.put_targets(Rule="aws", EventBusName=bus, Targets=[
        {"Id": "fifo", "Arn": f"arn:aws:sqs:us-east-1:{account}:{fifo}", "SqsParameters": {"MessageGroupId": "orders-group"}},
        {"Id": "kinesis", "Arn": f"arn:aws:kinesis:us-east-1:{account}:stream/{stream}",
         "KinesisParameters": {"PartitionKeyPath": "$.detail.user"}},
        {"Id": "sns", "Arn": f"arn:aws:sns:us-east-1:{account}:{sns}"},
        {"Id": "lambda", "Arn": f"arn:aws:lambda:us-east-1:{account}:function:order-handler", "InputPath": "$.detail"},
        {"Id": "bus", "Arn": f"arn:aws:events:us-east-1:{account}:event-bus/{other}"}])
    assert answer["FailedEntryCount"] == 0, answer["FailedEntries"]
    events.put_rule(Name="more", EventBusName=bus, EventPattern=pattern)
    answer = events.put_targets(Rule="more", EventBusName=bus, Targets=[
        {"Id": "api", "Arn": destination},
        {"Id": "sentinel", "Arn": f"kafka:topic/{sentinel}"}])
    assert answer["FailedEntryCount"] == 0, answer["FailedEntries"]
    events.put_rule(Name="probe", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["probe"]}))
    events.put_targets(Rule="probe", EventBusName=bus, Targets=[{"Id": "sentinel", "Arn": f"kafka:topic/{sentinel}"}])
    applied(kafka, events, bus, sentinel)

    marker = unique_name("m")
    put = events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "EventBusName": bus,
                                      "Detail": json.dumps({"marker": marker, "user": "u-42"})}])
    assert put["FailedEntryCount"] == 0
    event_id = put["Entries"][0]["EventId"]

    def one(topic: str) -> Any:
        found = wait_until(lambda: [r for r in records(kafka, topic) if marker.encode() in (r.value or b"")],
                           timeout=60, what=f"the event at {topic}")
        return found[0]

    assert one(fifo).key == b"orders-group"  # SQS FIFO: one message group, one key, one order
    assert one(stream).key == b"u-42"  # Kinesis: PartitionKeyPath keys the record
    assert json.loads(one(sns).value)["id"] == event_id
    crossed = json.loads(one(bus_topic(other)).value)  # the event-bus target puts it on the other bus
    assert crossed["detail"]["marker"] == marker and crossed["source"] == "shop"
    assert wait_until(lambda: [c for c in calls(world) if c == {"marker": marker, "user": "u-42"}], timeout=60,
                      what="the registered function called")
    hook = wait_until(lambda: [r for r in world["receiver"].received("/hook") if marker.encode() in r.body], timeout=60,
                      what="the API destination called")[0]
    assert hook.method == "POST" and {k.lower(): v for k, v in hook.headers.items()}["x-api-key"] == "s3cret"


def test_pipe_sources_by_aws_arn_and_a_lambda_target(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    pipes, account = client(world, "pipes"), kafka.settings.account
    smk_in, msk_in, table = kafka.create_topic(), kafka.create_topic(), unique_name("table")
    smk_out, msk_out = unique_name("out"), unique_name("out")
    marker = unique_name("m")
    kafka.seed_topic(smk_in, [{"via": "smk", "marker": marker}])
    kafka.seed_topic(msk_in, [{"via": "msk", "marker": marker}])
    kafka.create_topic(table)
    kafka.seed_topic(table, [{"eventID": "e1", "eventName": "INSERT", "dynamodb": {
        "Keys": {"id": {"S": marker}}, "NewImage": {"id": {"S": marker}}, "SequenceNumber": "1", "SizeBytes": 10,
        "StreamViewType": "NEW_IMAGE"}}])
    start = {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1}
    names = [unique_name(kind) for kind in ("smk", "msk", "ddb")]
    pipes.create_pipe(Name=names[0], Source="smk://127.0.0.1:9092", RoleArn="arn:aws:iam::000000000000:role/r",
                      SourceParameters={"SelfManagedKafkaParameters": {"TopicName": smk_in, **start}},
                      Target=f"arn:aws:sqs:us-east-1:{account}:{smk_out}")
    pipes.create_pipe(Name=names[1], Source=f"arn:aws:kafka:us-east-1:{account}:cluster/c/0000-1111",
                      RoleArn="arn:aws:iam::000000000000:role/r",
                      SourceParameters={"ManagedStreamingKafkaParameters": {"TopicName": msk_in, **start}},
                      Target=f"arn:aws:kinesis:us-east-1:{account}:stream/{msk_out}")
    pipes.create_pipe(Name=names[2], Source=f"arn:aws:dynamodb:us-east-1:{account}:table/{table}/stream/2026-01-01T00:00:00.000",
                      RoleArn="arn:aws:iam::000000000000:role/r", SourceParameters={"DynamoDBStreamParameters": start},
                      Target=f"arn:aws:lambda:us-east-1:{account}:function:order-handler")

    for topic, via in ((smk_out, "smk"), (msk_out, "msk")):
        found = wait_until(lambda: records(kafka, topic), timeout=90, what=f"the {via} pipe's output")
        delivered = json.loads(found[0].value)
        assert json.loads(base64.b64decode(delivered["value"])) == {"via": via, "marker": marker}
        assert delivered["topic"] == (smk_in if via == "smk" else msk_in)
    batches = wait_until(lambda: [b for b in calls(world) if isinstance(b, list) and marker in json.dumps(b)], timeout=90,
                         what="the DynamoDB stream pipe calling the registered function")
    (stream_record,) = batches[0]
    assert stream_record["eventSource"] == "aws:dynamodb" and stream_record["dynamodb"]["Keys"] == {"id": {"S": marker}}

    # StopPipe stops it at the worker: a record put while it is stopped waits (while a pipe created after the stop
    # delivers), and StartPipe resumes it from where it stopped.
    assert pipes.stop_pipe(Name=names[0])["DesiredState"] == "STOPPED"
    sentinel_in, sentinel_out = kafka.create_topic(), unique_name("sentinel")
    names.append(unique_name("sentinel"))
    pipes.create_pipe(Name=names[-1], Source="smk://127.0.0.1:9092", Target=f"kafka:topic/{sentinel_out}",
                      RoleArn="arn:aws:iam::000000000000:role/r",
                      SourceParameters={"SelfManagedKafkaParameters": {"TopicName": sentinel_in, **start}})
    kafka.seed_topic(sentinel_in, [{"marker": "ready"}])
    wait_until(lambda: records(kafka, sentinel_out), timeout=90, what="the pipe created after the stop delivering")
    held = unique_name("held")
    kafka.seed_topic(smk_in, [{"via": "smk", "marker": held}])
    kafka.seed_topic(sentinel_in, [{"marker": held}])
    wait_until(lambda: len(records(kafka, sentinel_out)) == 2, timeout=90, what="a record put after the stop delivered")
    assert [json.loads(base64.b64decode(json.loads(r.value)["value"]))["marker"] for r in records(kafka, smk_out)] == [marker]
    assert pipes.start_pipe(Name=names[0])["CurrentState"] == "STARTING"
    wait_until(lambda: len(records(kafka, smk_out)) == 2, timeout=90, what="the restarted pipe delivering the held record")
    for name in names:
        pipes.delete_pipe(Name=name)
