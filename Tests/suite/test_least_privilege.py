"""Least privilege on the broker: each service of the running suite logs in as its own user
(`undersigned broker setup`, run by scripts/up), which may do only what that service does. A service
that is taken over cannot publish where it never does, read another's queue, or declare or delete anything."""
import json
import subprocess
from urllib.parse import urlsplit

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from conftest import ENV, management, running_service

SERVICES = ["intake", "dedup", "tally", "delivery"]


def connect(service):
    """A connection with the login service `service` runs with (read from the running process)."""
    _, _, environ = running_service(service)
    broker = urlsplit(environ["UNDERSIGNED_AMQP_URL"])
    credentials = pika.PlainCredentials(environ["UNDERSIGNED_AMQP_USER"], environ["UNDERSIGNED_AMQP_PASSWORD"])
    return pika.BlockingConnection(pika.ConnectionParameters(broker.hostname, broker.port, "/", credentials))


def refused(service, operation):
    """Runs `operation(channel)` as `service`; True when the broker refused it (403 ACCESS_REFUSED)."""
    connection = connect(service)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        try:
            operation(channel)
        except ChannelClosedByBroker as closed:
            return closed.reply_code == 403
        return False
    finally:
        connection.close()


def publish(exchange):
    # An empty body: were it let through, dedup would dead-letter it, never count it.
    return lambda channel: channel.basic_publish(exchange, "least-privilege", b"", pika.BasicProperties(delivery_mode=2))


def read(queue):
    return lambda channel: channel.basic_get(queue, auto_ack=False)


def declare(queue):
    return lambda channel: channel.queue_declare(queue, durable=True)


def delete(queue):
    return lambda channel: channel.queue_delete(queue)


FORBIDDEN = [
    ("tally", "publish to signatures.submitted", publish("signatures.submitted")),
    ("tally", "publish to signatures.accepted", publish("signatures.accepted")),
    ("tally", "read dedup.submitted", read("dedup.submitted")),
    ("intake", "read dedup.submitted", read("dedup.submitted")),
    ("intake", "publish to petitions.milestones", publish("petitions.milestones")),
    ("intake", "publish to partners.submitted", publish("partners.submitted")),
    ("intake", "declare a queue", declare("least-privilege")),
    ("dedup", "publish to signatures.submitted", publish("signatures.submitted")),
    ("dedup", "read tally.accepted", read("tally.accepted")),
    ("dedup", "delete tally.accepted", delete("tally.accepted")),
    ("dedup", "read a partner's receipts", read("partner.nobody.receipts")),
    ("delivery", "publish to signatures.accepted", publish("signatures.accepted")),
    ("delivery", "read tally.accepted", read("tally.accepted")),
    ("delivery", "delete delivery.milestones", delete("delivery.milestones")),
]


@pytest.mark.parametrize("service,what,operation", FORBIDDEN, ids=[f"{s}: {w}" for s, w, _ in FORBIDDEN])
def test_a_service_cannot_do_what_it_never_does(service, what, operation):
    assert refused(service, operation), f"{service} could {what}"


def test_every_service_connection_logs_in_as_its_own_user():
    connections = []
    assert management("GET", "/api/connections?columns=user,client_properties", answer=connections) == 200
    names = {c["client_properties"].get("connection_name", ""): c["user"] for c in connections[0]}
    for service in SERVICES:
        ours = {name: user for name, user in names.items() if name.startswith(f"{service}-1-")}
        assert ours, f"no connection of {service}-1 in {sorted(names)}"
        assert set(ours.values()) == {f"undersigned-{service}"}, ours


def test_the_broker_holds_exactly_the_permissions_the_code_gives():
    accounts = json.loads(subprocess.run([ENV.bin, "broker", "accounts"], check=True, capture_output=True, text=True).stdout)
    assert [a["service"] for a in accounts] == SERVICES
    for account in accounts:
        permissions, user = [], []
        assert management("GET", f"/api/users/{account['user']}/permissions", answer=permissions) == 200
        assert [(p["configure"], p["write"], p["read"]) for p in permissions[0]] == [(account["configure"], account["write"], account["read"])]
        assert account["configure"] == "^$"
        assert management("GET", f"/api/users/{account['user']}", answer=user) == 200
        assert user[0]["tags"] in ([], ""), f"{account['user']} has tags {user[0]['tags']} (management access)"
