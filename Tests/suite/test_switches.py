"""Switches for a bad night, against the running suite: optional work switched off at run time, without a
deploy, reaches the services within seconds and comes back when switched on."""
import json
import subprocess
import time
import uuid

from conftest import ENV, eventually, fetch
from test_partners import signature
from test_webhooks import Receiver, add_partner_with_webhook, publish


def switch(state, name):
    return subprocess.run([ENV.bin, "switch", state, name], check=True, capture_output=True, text=True).stdout


def by_country():
    status, _, body = fetch(f"{ENV.tally}/v1/petitions/{ENV.petition}/count")
    assert status == 200
    return json.loads(body)["by_country"]


def test_the_country_breakdown_is_switched_off_and_on_within_seconds():
    assert by_country(), "the demo petition has signatures from some countries"
    try:
        switch("off", "country-breakdown")
        started = time.monotonic()
        assert eventually(lambda: by_country() == {}, timeout=10, interval=0.2)
        assert time.monotonic() - started < 5
        listed = subprocess.run([ENV.bin, "status"], check=True, capture_output=True, text=True).stdout
        assert any(line.split()[:2] == ["country-breakdown", "OFF"] for line in listed.splitlines()), listed
    finally:
        switch("on", "country-breakdown")
    assert eventually(lambda: by_country() != {}, timeout=10, interval=0.2)


def test_receipt_webhooks_are_held_while_switched_off_and_called_when_on_again():
    receiver = Receiver([200])
    try:
        partner = add_partner_with_webhook("held", receiver.url)
        switch("off", "receipt-webhooks")
        time.sleep(3)  # every delivery instance has read it
        publish(partner, [signature(f"held.{uuid.uuid4().hex[:8]}@example.org")])
        time.sleep(6)
        assert receiver.calls == [], "no receipt webhook while switched off"
        switch("on", "receipt-webhooks")
        assert eventually(lambda: len(receiver.calls) == 1, timeout=30), "the held call is made once switched on"
    finally:
        switch("on", "receipt-webhooks")
        receiver.close()
