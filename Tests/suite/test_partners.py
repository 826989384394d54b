"""Partners as real clients: pika publishing envelopes, the account's limits, receipts, `undersigned push`.

Run by scripts/api-check against the suite scripts/up started (environment: see conftest.py).
"""
import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timezone

import pika
import pytest
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker

from conftest import ENV, add_partner, counted, eventually, management, psql


def envelope(rows, envelope_id=None):
    return json.dumps({
        "schema": "undersigned.envelope", "version": 1, "envelope_id": envelope_id or str(uuid.uuid4()),
        "sent_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "signatures": rows,
    })


def signature(email, name="Grace Hopper", country="US", submission=None):
    """A partner's row. Its source says "web", a claim a partner cannot make: it is stored as partner:NAME
    (only "paper" is taken from the row, as the partner's paper channel: test_stage_call)."""
    return {
        "submission_id": submission or str(uuid.uuid4()), "petition": ENV.petition, "name": name, "email": email,
        "country": country, "source": "web", "signed_at": "2026-11-28T18:00:00Z",
    }


def connect(partner):
    return pika.BlockingConnection(pika.URLParameters(partner["amqp_url"]))


def properties(partner, batch, user=None, first_row=None):
    return pika.BasicProperties(
        content_type="application/json", delivery_mode=2, message_id=batch, user_id=user or partner["user"],
        type="undersigned.envelope", headers={"x-first-row": first_row} if first_row is not None else None)


def test_partner_publishes_with_confirms_is_counted_as_itself_and_gets_its_receipt():
    partner = add_partner("acme")
    tag = uuid.uuid4().hex[:8]
    rows = [
        signature(f"ada.{tag}@example.org", name="Ada Lovelace", country="GB"),
        signature(f"zoë.{tag}@example.org", name="Zoë Çelik", country="TR"),
        signature(f"kwame.{tag}@example.org", name="Kwame Mensah", country="GH"),
        signature(f"Ada.{tag}@Example.org", name="Ada L.", country="GB"),  # the same signer again
        signature("not-an-email", name="Nobody", country="FR"),
    ]
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    # With confirms on, basic_publish returns once the broker confirmed, and raises on a nack or return.
    channel.basic_publish(partner["exchange"], f"{partner['user']}.batch-1", envelope(rows),
                          properties(partner, f"batch-{tag}", first_row=1), mandatory=True)
    connection.close()

    assert eventually(lambda: counted(partner) == 3)
    stored = psql(f"SELECT source, partner FROM signatures WHERE submission_id IN "
                  f"('{rows[0]['submission_id']}', '{rows[1]['submission_id']}', '{rows[2]['submission_id']}')")
    assert stored == [f"partner:{partner['user']}|{partner['user']}"] * 3

    receipt = get_receipt(partner)
    assert receipt["batch_id"] == f"batch-{tag}"
    assert receipt["totals"] == {"rows": 5, "accepted": 3, "duplicate": 1, "invalid": 1}
    by_row = {row["row"]: row for row in receipt["rows"]}
    assert [by_row[n]["status"] for n in (1, 2, 3, 4, 5)] == ["accepted", "accepted", "accepted", "duplicate", "invalid"]
    assert by_row[5]["field"] == "email"
    assert "not-an-email" not in json.dumps(receipt)


def get_receipt(partner, timeout=30):
    connection = connect(partner)
    channel = connection.channel()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            method, props, body = channel.basic_get(partner["receipt_queue"], auto_ack=True)
            if method:
                assert props.type == "undersigned.partner-receipt"
                return json.loads(body)
            time.sleep(0.2)
    finally:
        connection.close()
    pytest.fail("no receipt on the partner's queue")


@pytest.fixture(scope="module")
def two_partners():
    return add_partner("alpha"), add_partner("beta")


def refused(partner, action):
    """Runs `action(channel)` on a fresh channel; returns the broker's reply code when it refuses."""
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    try:
        action(channel)
    except ChannelClosedByBroker as error:
        return error.reply_code
    finally:
        if connection.is_open:
            connection.close()
    return None


def test_least_privilege(two_partners):
    alpha, beta = two_partners
    body = envelope([signature(f"lp.{uuid.uuid4().hex[:8]}@example.org")])

    # Its own exchange and routing key, its own user_id: taken.
    assert refused(alpha, lambda ch: ch.basic_publish(alpha["exchange"], f"{alpha['user']}.ok", body, properties(alpha, "ok"))) is None
    # The public intake exchange: refused.
    submitted = alpha["exchange"].replace("partners.submitted", "signatures.submitted")
    assert refused(alpha, lambda ch: ch.basic_publish(submitted, "x", body, properties(alpha, "b"))) == 403
    # Another partner's routing key: refused (topic permission).
    assert refused(alpha, lambda ch: ch.basic_publish(alpha["exchange"], f"{beta['user']}.batch", body, properties(alpha, "b"))) == 403
    # A spoofed user_id: refused by the broker.
    assert refused(alpha, lambda ch: ch.basic_publish(alpha["exchange"], f"{alpha['user']}.b", body,
                                                      properties(alpha, "b", user=beta["user"]))) == 406
    # Declaring a queue: refused.
    assert refused(alpha, lambda ch: ch.queue_declare(f"alpha-own-{uuid.uuid4().hex[:6]}")) == 403
    # Reading another partner's receipts: refused; its own: allowed.
    assert refused(alpha, lambda ch: ch.basic_get(beta["receipt_queue"])) == 403
    assert refused(alpha, lambda ch: ch.basic_get(alpha["receipt_queue"])) is None


def test_disabled_partner_cannot_log_in_and_rotated_credentials_work():
    partner = add_partner("gamma")
    subprocess.run([ENV.bin, "partner", "disable", partner["user"]], check=True, capture_output=True)
    with pytest.raises(AMQPConnectionError):  # no permission left on the vhost: the broker refuses the login
        connect(partner)
    rotated = json.loads(subprocess.run([ENV.bin, "partner", "rotate", partner["user"], "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    with pytest.raises(AMQPConnectionError):
        connect(partner)  # the old password
    assert refused(rotated, lambda ch: ch.basic_publish(rotated["exchange"], f"{rotated['user']}.b",
                                                        envelope([signature(f"g.{uuid.uuid4().hex[:6]}@example.org")]),
                                                        properties(rotated, "b"))) is None


def write_csv(path, tag, rows=4000):
    """A partner's export: quoted commas, UTF-8 names, every 10th row the same signer again, a few bad emails."""
    lines = ["name,email,country,postal_code,contact_opt_in"]
    distinct = 0
    for i in range(rows):
        if i % 10 == 9:
            lines.append(f'"Again, Someone",SIGNER{i - 1}.{tag}@EXAMPLE.ORG,de,,no')  # the row before, retyped
        elif i % 500 == 17:
            lines.append(f'"Broken ""Row""",broken{i}.{tag}-at-example.org,fr,,no')
        else:
            lines.append(f'"Müller-Łukasiewicz, Zoë {i}",signer{i}.{tag}@example.org,DE,10115,yes')
            distinct += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return distinct


def test_push_interrupted_and_run_again_counts_every_signature_once(tmp_path):
    partner = add_partner("pusher")
    tag = uuid.uuid4().hex[:8]
    csv = tmp_path / "signatures.csv"
    distinct = write_csv(csv, tag)
    env = dict(os.environ, UNDERSIGNED_PARTNER_AMQP_URL=partner["amqp_url"])
    command = [ENV.bin, "push", str(csv), "--partner", partner["user"], "--petition", ENV.petition,
               "--envelope", "100", "--receipt-queue", partner["receipt_queue"], "--quiet"]

    # Slowly, then killed once part of it is confirmed.
    first = subprocess.Popen(command + ["--rate", "1500"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = tmp_path / "signatures.csv.push-state"
    assert eventually(lambda: state.exists() and len(json.loads(state.read_text())["confirmed_first_rows"]) >= 5, timeout=30)
    first.kill()
    first.wait()
    confirmed = len(json.loads(state.read_text())["confirmed_first_rows"])
    assert confirmed < 40, "the first run finished before it was interrupted"

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "already confirmed by an earlier run" in second.stdout
    assert eventually(lambda: counted(partner) == distinct), f"counted {counted(partner)}, not {distinct}"
    stored = psql(f"SELECT count(*), count(DISTINCT submission_id) FROM signatures WHERE partner = '{partner['user']}'")
    assert stored == [f"{distinct}|{distinct}"]
    summary = [line for line in second.stdout.splitlines() if line.startswith("push: receipts=")][0]
    assert "invalid=" in summary and "duplicate=" in summary


def test_push_over_http_twice_counts_once_and_reports_every_row(tmp_path):
    partner = add_partner("httppush")
    tag = uuid.uuid4().hex[:8]
    csv = tmp_path / "export.csv"
    distinct = write_csv(csv, tag, rows=1500)
    env = dict(os.environ, UNDERSIGNED_PARTNER_API_KEY=partner["api_key"])
    command = [ENV.bin, "push", str(csv), "--partner", partner["user"], "--petition", ENV.petition, "--http",
               "--url", ENV.intake, "--quiet"]
    for _ in range(2):
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr + run.stdout
    summary = [line for line in run.stdout.splitlines() if line.startswith("push: receipts=")][0]
    numbers = dict(part.split("=") for part in summary.split()[1:])
    assert numbers["receipts"] == "1/1"
    assert int(numbers["accepted"]) + int(numbers["duplicate"]) + int(numbers["invalid"]) == 1500
    assert int(numbers["accepted"]) == distinct
    assert eventually(lambda: counted(partner) == distinct)


def test_a_partner_over_its_backlog_gets_a_nack_and_nothing_confirmed_is_lost():
    import glob
    import signal
    from pika.exceptions import NackError

    out = subprocess.run([ENV.bin, "partner", "add", f"slow-{uuid.uuid4().hex[:6]}", "--max-backlog", "3", "--json"],
                         check=True, capture_output=True, text=True).stdout
    partner = json.loads(out)
    # Dedup falls behind: frozen, it takes nothing more than its prefetch.
    pids = [int(open(path).read()) for path in glob.glob(os.path.join(ENV.local, "run", "dedup-*.pid"))]
    assert pids, "no dedup process found"
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    confirmed, nacked = 0, False
    tag = uuid.uuid4().hex[:8]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(300):
            body = envelope([signature(f"backlog{i}.{tag}@example.org")])
            try:
                channel.basic_publish(partner["exchange"], f"{partner['user']}.b", body, properties(partner, "backlog"))
                confirmed += 1
            except NackError:
                nacked = True
                break
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        connection.close()
    assert nacked, f"{confirmed} envelopes were confirmed and none nacked"
    # What was confirmed is counted once dedup catches up; what was nacked was never taken.
    assert eventually(lambda: counted(partner) == confirmed), f"counted {counted(partner)}, confirmed {confirmed}"


def test_a_partner_may_hold_only_its_share_of_connections():
    out = subprocess.run([ENV.bin, "partner", "add", f"few-{uuid.uuid4().hex[:6]}", "--max-connections", "2", "--json"],
                         check=True, capture_output=True, text=True).stdout
    partner = json.loads(out)
    held = [connect(partner), connect(partner)]
    try:
        with pytest.raises(AMQPConnectionError):
            connect(partner)
    finally:
        for connection in held:
            connection.close()
    connect(partner).close()  # a freed slot can be used again


def test_push_with_a_wrong_password_fails_at_once_and_says_so(tmp_path):
    partner = add_partner("typo")
    csv = tmp_path / "few.csv"
    csv.write_text("name,email,country\nAda,ada@example.org,GB\n")
    wrong = partner["amqp_url"].replace(partner["password"], "not-the-password")
    started = time.monotonic()
    run = subprocess.run([ENV.bin, "push", str(csv), "--partner", partner["user"], "--petition", ENV.petition, "--quiet"],
                         env=dict(os.environ, UNDERSIGNED_PARTNER_AMQP_URL=wrong), capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "cannot use the broker" in run.stderr
    assert "not-the-password" not in run.stderr + run.stdout
    assert time.monotonic() - started < 15


def test_a_partners_dead_letters_are_found_under_dedup_and_name_the_partner():
    partner = add_partner("poison")
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(partner["exchange"], f"{partner['user']}.broken", b"{not json", properties(partner, "broken-batch"))
    connection.close()

    def listed():
        out = subprocess.run([ENV.bin, "dead", "list", "--limit", "1000"], check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if "\tbroken-batch\t" in line]
    assert eventually(lambda: any(line[3] == partner["user"] for line in listed()), timeout=30), "the letter names its partner"

    own = subprocess.run([ENV.bin, "dead", "list", "--queue", f"partner.{partner['user']}.submitted"], capture_output=True, text=True)
    assert own.returncode != 0 and "dedup.submitted" in own.stderr and "404" not in own.stderr, own.stderr
    unknown = subprocess.run([ENV.bin, "dead", "list", "--queue", "no.such.queue"], capture_output=True, text=True)
    assert unknown.returncode != 0 and "tally.accepted" in unknown.stderr, unknown.stderr


def test_push_reads_a_json_array_the_same_way_over_amqp_and_over_http(tmp_path):
    """push and push --http read a file with the same reader intake uses, so both take the same rows."""
    summaries = []
    for transport in ("amqp", "http"):
        tag = uuid.uuid4().hex[:8]  # other signers for each transport
        rows = [{"name": f"Array {i}", "email": f"array{i}.{tag}@example.org", "country": "NL"} for i in range(3)]
        rows[2] = {"name": "No address"}  # invalid, named in the receipt
        export = tmp_path / f"export-{transport}.json"
        export.write_text(json.dumps(rows) + "\n", encoding="utf-8")
        partner = add_partner(f"array-{transport}")
        if transport == "amqp":
            env = dict(os.environ, UNDERSIGNED_PARTNER_AMQP_URL=partner["amqp_url"])
            extra = ["--receipt-queue", partner["receipt_queue"]]
        else:
            env = dict(os.environ, UNDERSIGNED_PARTNER_API_KEY=partner["api_key"])
            extra = ["--http", "--url", ENV.intake]
        run = subprocess.run([ENV.bin, "push", str(export), "--partner", partner["user"], "--petition", ENV.petition, "--quiet", *extra],
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr + run.stdout
        summary = [line for line in run.stdout.splitlines() if line.startswith("push: receipts=")][0]
        summaries.append({k: v for k, v in (part.split("=") for part in summary.split()[1:]) if k != "receipts"})
        assert eventually(lambda: counted(partner) == 2)
    assert summaries[0] == summaries[1], summaries
    assert summaries[0]["accepted"] == "2" and summaries[0]["invalid"] == "1"


def test_a_partners_backlog_is_capped_in_envelopes_and_in_bytes():
    name = f"capped-{uuid.uuid4().hex[:6]}"
    subprocess.run([ENV.bin, "partner", "add", name, "--max-backlog", "10"], check=True, capture_output=True)
    policy = []
    assert management("GET", f"/api/policies/%2F/partner-backlog-{name}", answer=policy) == 200
    assert policy[0]["definition"] == {"max-length": 10, "max-length-bytes": 10 * 256 * 1024, "overflow": "reject-publish"}


def test_a_partner_never_takes_the_name_of_a_broker_user_that_exists():
    # The broker's administrator and reserved names: refused before anything is changed.
    for name in ("guest", "admin", "undersigned-intake"):
        result = subprocess.run([ENV.bin, "partner", "add", name], capture_output=True, text=True)
        assert result.returncode != 0 and "reserved" in result.stderr, result.stderr
    assert management("GET", "/api/whoami") == 200, "the administrator's password is unchanged"
    # Any other user that exists (a service's login, say): refused, its password left as it was.
    name = f"svc-{uuid.uuid4().hex[:6]}"
    assert management("PUT", f"/api/users/{name}", {"password": "their-own", "tags": "monitoring"}) in (201, 204)
    result = subprocess.run([ENV.bin, "partner", "add", name], capture_output=True, text=True)
    assert result.returncode != 0 and "exists already" in result.stderr, result.stderr
    assert management("GET", "/api/whoami", auth=f"{name}:their-own") == 200
    assert psql(f"SELECT count(*) FROM partners WHERE name = '{name}'") == ["0"]
    management("DELETE", f"/api/users/{name}")


def test_a_receipt_does_not_tell_a_partner_who_signed_elsewhere():
    """A person who signed on the website is 'accepted' in a partner's receipt, like anyone new (the API
    never reveals who signed); the partner's own second row for them is its duplicate."""
    import urllib.request
    tag = uuid.uuid4().hex[:8]
    address = f"elsewhere.{tag}@example.org"
    web = urllib.request.Request(f"{ENV.intake}/v1/petitions/{ENV.petition}/signatures", headers={"content-type": "application/json"},
                                 data=json.dumps({"name": "Web Signer", "email": address, "country": "NL"}).encode())
    with urllib.request.urlopen(web, timeout=10) as response:
        assert response.status == 202
    assert eventually(lambda: psql("SELECT count(*) FROM signatures WHERE name = 'Web Signer' AND partner IS NULL "
                                   "AND submission_id IS NOT NULL AND signed_at > now() - interval '5 minutes'") != ["0"], timeout=30)
    partner = add_partner("elsewhere")
    connection = connect(partner)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(partner["exchange"], f"{partner['user']}.a", envelope([signature(address, name="Web Signer")]),
                          properties(partner, f"first-{tag}"))
    first = get_receipt(partner)
    assert first["totals"] == {"rows": 1, "accepted": 1, "duplicate": 0, "invalid": 0}, first
    channel.basic_publish(partner["exchange"], f"{partner['user']}.b", envelope([signature(address, name="Web Signer")]),
                          properties(partner, f"second-{tag}"))
    second = get_receipt(partner)
    connection.close()
    assert second["totals"] == {"rows": 1, "accepted": 0, "duplicate": 1, "invalid": 0}, second
    assert counted(partner) == 0, "the person counts once, for the website"
