"""Receipts as signed webhooks, sent by the delivery service from its outbox."""
import hashlib
import hmac
import json
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import ENV, eventually
from test_http_batches import call
from test_partners import connect, envelope, properties, signature


class Receiver:
    """A partner's webhook endpoint: answers with the given statuses in turn (the last one from then on)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.calls = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                receiver.calls.append({"headers": self.headers, "body": body, "status": status, "at": time.monotonic()})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/undersigned"

    def close(self):
        self.server.shutdown()


def add_partner_with_webhook(prefix, url):
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    out = subprocess.run([ENV.bin, "partner", "add", name, "--receipt-url", url, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def publish(partner, rows, envelope_id=None, batch="hook-batch"):
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(partner["exchange"], f"{partner['user']}.hook", envelope(rows, envelope_id), properties(partner, batch))
    connection.close()


def failed_calls(partner):
    """The partner's webhook calls that gave up, as `webhooks list --state failed` prints them."""
    out = subprocess.run([ENV.bin, "webhooks", "list", "--state", "failed"], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if partner["user"] in line]


def verified(call, secret):
    timestamp = call["headers"]["X-Undersigned-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + call["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, call["headers"]["X-Undersigned-Signature"]) and abs(time.time() - int(timestamp)) < 300


def test_receipt_webhook_is_signed_retried_after_500s_and_delivered_once():
    receiver = Receiver([500, 500, 200])
    try:
        partner = add_partner_with_webhook("hooked", receiver.url)
        tag = uuid.uuid4().hex[:8]
        publish(partner, [signature(f"h1.{tag}@example.org"), signature(f"h2.{tag}@example.org"), signature("nope")])
        assert eventually(lambda: any(call["status"] == 200 for call in receiver.calls), timeout=60)
        time.sleep(2)  # nothing more comes after the success
        assert [call["status"] for call in receiver.calls] == [500, 500, 200]
        assert all(verified(call, partner["webhook_secret"]) for call in receiver.calls)
        assert len({call["headers"]["Idempotency-Key"] for call in receiver.calls}) == 1
        assert receiver.calls[1]["at"] > receiver.calls[0]["at"]
        receipt = json.loads(receiver.calls[-1]["body"])
        assert receipt["partner"] == partner["user"] and receipt["batch_id"] == "hook-batch"
        assert receipt["totals"] == {"rows": 3, "accepted": 2, "duplicate": 0, "invalid": 1}
        tampered = dict(receiver.calls[-1], body=receiver.calls[-1]["body"] + b" ")
        assert not verified(tampered, partner["webhook_secret"])
        listed = subprocess.run([ENV.bin, "webhooks", "list", "--state", "delivered"], check=True, capture_output=True, text=True).stdout
        assert partner["user"] in listed
    finally:
        receiver.close()


def test_a_webhook_that_keeps_failing_gives_up_and_an_operator_can_retry_it():
    receiver = Receiver([503])
    try:
        partner = add_partner_with_webhook("down", receiver.url)
        publish(partner, [signature(f"d.{uuid.uuid4().hex[:8]}@example.org")])

        assert eventually(lambda: failed_calls(partner), timeout=60), "the call did not give up"
        attempts = len(receiver.calls)
        assert attempts >= 2 and all(call["status"] == 503 for call in receiver.calls)
        status = subprocess.run([ENV.bin, "status"], check=True, capture_output=True, text=True).stdout
        [line] = [line.split("\t") for line in status.splitlines() if line.startswith("webhook calls\t")]
        assert int(line[2]) >= 1, f"status shows the call that gave up: {status}"
        call_id = failed_calls(partner)[0].split()[0]
        receiver.statuses = [200]
        subprocess.run([ENV.bin, "webhooks", "retry", call_id], check=True, capture_output=True)
        assert eventually(lambda: receiver.calls[-1]["status"] == 200, timeout=30)
        assert not failed_calls(partner)
    finally:
        receiver.close()


def test_two_partners_sending_the_same_envelope_id_each_get_their_own_receipt():
    """Envelope ids are the partners' choice: a second partner reusing one must not lose its receipt to the
    first (the webhook call, keyed by message id) nor see the first's refused rows (GET of the batch)."""
    receivers = [Receiver([200]), Receiver([200])]
    try:
        first, second = (add_partner_with_webhook(name, receiver.url) for name, receiver in zip(("same-a", "same-b"), receivers))
        shared, tag = str(uuid.uuid4()), uuid.uuid4().hex[:8]
        publish(first, [signature(f"a1.{tag}@example.org"), signature("not-an-address")], envelope_id=shared, batch=f"a-{tag}")
        publish(second, [signature("nor-this-one"), signature(f"b1.{tag}@example.org"), signature(f"b2.{tag}@example.org")],
                envelope_id=shared, batch=f"b-{tag}")
        for receiver in receivers:
            assert eventually(lambda: receiver.calls, timeout=60), "a partner's receipt was not called in"
        first_call, second_call = (json.loads(receiver.calls[0]["body"]) for receiver in receivers)
        assert first_call["partner"] == first["user"] and first_call["totals"] == {"rows": 2, "accepted": 1, "duplicate": 0, "invalid": 1}
        assert second_call["partner"] == second["user"] and second_call["totals"] == {"rows": 3, "accepted": 2, "duplicate": 0, "invalid": 1}
        for partner, batch, invalid_row in ((first, f"a-{tag}", 1), (second, f"b-{tag}", 0)):
            status, receipt = call("GET", f"/v1/partners/batches/{batch}", key=partner["api_key"])
            assert status == 200, receipt
            assert [row["row"] for row in receipt["rows"] if row["status"] == "invalid"] == [invalid_row], receipt
            assert len(receipt["rows"]) == (2 if partner is first else 3)
    finally:
        for receiver in receivers:
            receiver.close()


def test_a_receipt_webhook_never_follows_a_redirect():
    """A 307 would resend the signed body wherever the receiver points (another host, https to http): the
    call is refused at once and the place it points to is never called."""
    target = Receiver([200])
    redirecting = Receiver([307])
    handler = redirecting.server.RequestHandlerClass
    original = handler.do_POST

    def do_post(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        redirecting.calls.append({"status": 307})
        self.send_response(307)
        self.send_header("Location", target.url)
        self.send_header("Content-Length", "0")
        self.end_headers()
    handler.do_POST = do_post
    try:
        partner = add_partner_with_webhook("redirected", redirecting.url)
        publish(partner, [signature(f"r.{uuid.uuid4().hex[:8]}@example.org")])

        assert eventually(lambda: failed_calls(partner), timeout=60), "a redirect was not refused"
        assert len(redirecting.calls) == 1, "refused at once, not retried"
        assert "307" in failed_calls(partner)[0] and target.calls == [], "the place the redirect pointed to was never called"
    finally:
        handler.do_POST = original
        redirecting.close()
        target.close()
