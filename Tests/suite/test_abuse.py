"""Abuse controls at intake, against the running suite (scripts/api-check's settings: loopback is a
trusted proxy; 10.99.0.0/16 is allow-listed; other addresses get 10 at once, then 30 a minute)."""
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

from conftest import ENV, eventually, ops_url

ADMIN = {"Authorization": f"Bearer {os.environ.get('UNDERSIGNED_ADMIN_TOKEN', '')}"}


def post(address, email=None, petition=None):
    """Signs as a client at `address` (through X-Forwarded-For); returns (status, headers, body)."""
    body = json.dumps({"name": "Rate Tester", "email": email or f"rate-{uuid.uuid4().hex[:10]}@example.org", "country": "DE"}).encode()
    request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{petition or ENV.petition}/signatures", data=body,
                                     headers={"content-type": "application/json", "X-Forwarded-For": address})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)


def ctl(*args):
    return subprocess.run([ENV.bin, *args], check=True, capture_output=True, text=True).stdout


def test_an_address_over_its_limit_gets_429_with_retry_after_and_an_allow_listed_network_does_not():
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    answers = [post(address) for _ in range(14)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:10] == [202] * 10, statuses
    assert 429 in statuses[10:], statuses
    status, headers, body = next(a for a in answers if a[0] == 429)
    assert int(headers["Retry-After"]) >= 1
    assert headers["Content-Type"] == "application/problem+json" and body["status"] == 429 and body["title"]
    # The festival's Wi-Fi: thousands of people behind one address are never limited per address.
    assert [post("10.99.3.4")[0] for _ in range(60)] == [202] * 60
    # Nothing about the refused signer in intake's log: neither the address nor an e-mail.
    log = open(f"{ENV.local}/logs/intake-1.log").read()
    assert address not in log and "rate-" not in log and "signatures refused" in log


def test_blocked_network_and_domain_get_403_until_unblocked():
    network = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    ctl("block", "ip", network, "--reason", "test")
    assert eventually(lambda: post(network)[0] == 403, timeout=15)
    status, _, body = post(network)
    assert status == 403 and "network" in body["title"]
    assert post("10.99.9.9")[0] == 202
    ctl("block", "remove", "ip", network)
    assert eventually(lambda: post(network)[0] == 202, timeout=15)

    domain = f"bots-{uuid.uuid4().hex[:6]}.example"
    ctl("block", "domain", domain, "--hours", "1")
    assert eventually(lambda: post("10.99.9.9", email=f"x{uuid.uuid4().hex[:6]}@{domain.upper()}")[0] == 403, timeout=15)
    assert post("10.99.9.9", email=f"fine-{uuid.uuid4().hex[:6]}@example.org")[0] == 202
    assert domain in ctl("block", "list")
    ctl("block", "remove", "domain", domain)


def test_a_source_taking_a_large_share_is_flagged_on_the_ops_endpoint_and_in_metrics():
    address, domain = f"10.99.{uuid.uuid4().int % 250}.77", f"farm-{uuid.uuid4().hex[:6]}.example"
    for _ in range(150):
        assert post(address, email=f"{uuid.uuid4().hex[:10]}@{domain}")[0] == 202
    try:
        urllib.request.urlopen(f"{ENV.intake}/v1/ops/trending", timeout=5)
        assert False, "the trending list needs the admin token"
    except urllib.error.HTTPError as error:
        assert error.code == 401
    with urllib.request.urlopen(urllib.request.Request(f"{ENV.intake}/v1/ops/trending", headers=ADMIN), timeout=5) as response:
        trending = json.load(response)
    flagged = {(s["kind"], s["value"]) for s in trending["sources"]}
    assert ("client", address) in flagged and ("domain", domain) in flagged, trending
    assert trending["window_seconds"] == 60

    def gauge():
        # The gauge is updated when a 10-second bucket begins: one more signature after that.
        post(address, email=f"{uuid.uuid4().hex[:10]}@{domain}")
        metrics = urllib.request.urlopen(f"{ops_url('intake')}/metrics", timeout=5).read().decode()
        return any(line.startswith('undersigned_intake_trending_sources{kind="domain"}') and float(line.split()[-1]) >= 1
                   for line in metrics.splitlines())
    assert eventually(gauge, timeout=25, interval=2)
    metrics = urllib.request.urlopen(f"{ops_url('intake')}/metrics", timeout=5).read().decode()
    assert address not in metrics and domain not in metrics, "sources are counted in metrics, never named"
