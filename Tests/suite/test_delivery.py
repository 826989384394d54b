"""Delivery to targets, against the running suite: packages by webhook, e-mail and files; retries;
incremental ranges; one delivery per trigger; the milestone and closing triggers; the admin endpoint;
bounded memory for a million signatures; a delivery service killed half way."""
import csv
import email
import email.policy
import glob
import hashlib
import hmac
import http.server
import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pika
import pytest

from conftest import ENV, eventually, psql, running_service

ADMIN_TOKEN = os.environ.get("UNDERSIGNED_ADMIN_TOKEN", "")
COUNTRIES = ["DE", "FR", "KE", "BR", "GB", "IN"]


def ctl(*args):
    return subprocess.run([ENV.bin, *args], check=True, capture_output=True, text=True).stdout


def new_petition(milestones="1000000"):
    slug = f"deliver-{uuid.uuid4().hex[:8]}"
    ctl("petition", "create", slug, "--title", "Stop the Drones \u2014 Test", "--body", "Line one.\nLine <two> & more.",
        "--milestones", milestones)
    return slug


def sign(slug, count, start=0, countries=COUNTRIES):
    """Signs through intake (the real path), then waits until dedup has stored them all."""
    before = stored(slug)
    for i in range(start, start + count):
        body = json.dumps({"name": f"Signer {i} \u00c9lise", "email": f"signer{i}.{slug}@example.org",
                           "country": countries[i % len(countries)], "postal_code": f"{10000 + i}"}).encode()
        request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures", data=body,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
    assert eventually(lambda: stored(slug) == before + count, timeout=60), "dedup did not store every signature"


def stored(slug, countries=None):
    where = f" AND country IN ({','.join(repr(c) for c in countries)})" if countries else ""
    return int(psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'{where}")[0])


def deliveries(slug):
    return json.loads(ctl("deliveries", slug, "--json"))


def settled(slug, count):
    """Waits until the petition has `count` deliveries, none pending; returns them oldest first."""
    result = []

    def done():
        nonlocal result
        result = deliveries(slug)
        return len(result) == count and all(d["state"] != "pending" for d in result)
    assert eventually(done, timeout=90), f"deliveries did not settle: {result}"
    return sorted(result, key=lambda d: d["id"])


def read_csv(data):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == ["name", "country", "postal_code", "signed_at", "source"]
    return rows[1:]


class Receiver:
    """A webhook receiver that answers `failures` 500s before a 200, checking every signature."""

    def __init__(self, secret, failures=0, before_answer=None):
        self.secret, self.failures, self.calls, self.before_answer = secret, failures, [], before_answer
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                timestamp, signature = self.headers["X-Undersigned-Timestamp"], self.headers["X-Undersigned-Signature"]
                expected = "sha256=" + hmac.new(receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
                call = {"headers": self.headers, "body": body, "valid": hmac.compare_digest(expected, signature),
                        "fresh": abs(time.time() - int(timestamp)) < 300}
                status = 500 if len(receiver.calls) < receiver.failures else 200
                call["status"] = status
                receiver.calls.append(call)
                if receiver.before_answer:
                    receiver.before_answer(len(receiver.calls))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/petitions"

    def parts(self, call):
        message = email.message_from_bytes(b"Content-Type: " + call["headers"]["Content-Type"].encode() + b"\r\n\r\n" + call["body"],
                                           policy=email.policy.HTTP)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True) for part in message.iter_parts()}


def add_webhook_target(slug, name, url, on="milestone,close"):
    out = json.loads(ctl("petition", "add-target", slug, name, "--title", "Office of the Secretary-General", "--kind", "un-body",
                         "--webhook", url, "--on", on, "--json"))
    return out["webhook_secret"]


def test_webhook_retried_after_500s_then_delivered_once_with_right_counts_and_checksum():
    slug = new_petition()
    sign(slug, 30)
    receiver = Receiver(secret="", failures=2)
    receiver.secret = add_webhook_target(slug, "un", receiver.url)
    ctl("deliver", slug)
    [delivery] = settled(slug, 1)
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3 and delivery["last_status"] == 200
    assert [c["status"] for c in receiver.calls] == [500, 500, 200]
    assert all(c["valid"] and c["fresh"] for c in receiver.calls), "every call carries a valid, fresh signature"
    assert len({c["headers"]["Idempotency-Key"] for c in receiver.calls}) == 1
    parts = receiver.parts(receiver.calls[-1])
    manifest = json.loads(parts["manifest"])
    rows = read_csv(parts["signatures"])
    assert len(rows) == 30 == manifest["signatures"] == delivery["signatures"]
    assert hashlib.sha256(parts["signatures"]).hexdigest() == manifest["csv"]["sha256"] == delivery["csv_sha256"]
    assert receiver.calls[-1]["headers"]["X-Undersigned-CSV-SHA256"] == manifest["csv"]["sha256"]
    by_country = {c: sum(1 for r in rows if r[1] == c) for c in COUNTRIES}
    assert manifest["counts_by_country"] == by_country == {c: stored(slug, [c]) for c in COUNTRIES}
    assert not any("@" in field for row in rows for field in row), "no e-mail address in a package"
    assert b"Stop the Drones" in parts["cover_letter"] and b"Line &lt;two&gt; &amp; more." in parts["cover_letter"]


def test_a_retried_package_is_built_again_without_a_signer_erased_in_between_and_the_spool_is_private():
    slug = new_petition()
    sign(slug, 6)
    erased = {}

    def erase_during_the_first_call(calls):
        if calls == 1:  # the first attempt is in flight: its package was built with every signer
            erased["out"] = ctl("erase", f"signer0.{slug}@example.org")
    receiver = Receiver(secret="", failures=1, before_answer=erase_during_the_first_call)
    receiver.secret = add_webhook_target(slug, "un", receiver.url)
    ctl("deliver", slug)
    [delivery] = settled(slug, 1)
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2 and "removed 1 signature(s)" in erased["out"]
    first, second = (read_csv(receiver.parts(call)["signatures"]) for call in receiver.calls)
    assert len(first) == 6 and len(second) == 5, "the retry's package was made anew"
    assert "Signer 0 \u00c9lise" in {r[0] for r in first} and "Signer 0 \u00c9lise" not in {r[0] for r in second}
    assert json.loads(receiver.parts(receiver.calls[1])["manifest"])["signatures"] == 5 == delivery["signatures"]
    _, _, environ = running_service("delivery")
    spool = environ["UNDERSIGNED_DELIVERY_SPOOL"]
    assert os.stat(spool).st_mode & 0o777 == 0o700, "only the delivery service's user may enter the spool"
    assert not glob.glob(f"{spool}/delivery-*") and not glob.glob(f"{spool}/.building-*"), "no package is kept after its attempt"


def test_email_through_the_relay_with_starttls_carries_the_csv_of_the_targets_countries():
    slug = new_petition()
    sign(slug, 24)
    ctl("petition", "add-target", slug, "eu", "--title", "Heads of Government of the EU", "--kind", "head-of-government",
        "--countries", "DE,FR", "--email", "office@eu.example")
    ctl("deliver", slug)
    [delivery] = settled(slug, 1)
    assert delivery["state"] == "delivered" and delivery["last_status"] == 250, delivery
    mails = []

    def arrived():
        mails[:] = [m for m in glob.glob(f"{ENV.local}/inbox/mail/*.eml") if f"<delivery-{delivery['id']}.".encode() in open(m, "rb").read()]
        return len(mails) == 1
    assert eventually(arrived, timeout=30), "the relay (aiosmtpd, STARTTLS and AUTH required) saved the message"
    message = email.message_from_bytes(open(mails[0], "rb").read(), policy=email.policy.default)
    assert message["To"] == "office@eu.example" and "Stop the Drones" in message["Subject"]
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    rows = read_csv(attachments["signatures.csv"])
    names = {r[0] for r in rows}
    expected = set(psql(f"SELECT name FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}' AND country IN ('DE','FR')"))
    assert names == expected and len(rows) == stored(slug, ["DE", "FR"]) == 8
    assert {r[1] for r in rows} == {"DE", "FR"}
    assert not any("@" in field for row in rows for field in row)
    manifest = json.loads(attachments["manifest.json"])
    assert manifest["csv"]["sha256"] == hashlib.sha256(attachments["signatures.csv"]).hexdigest()
    assert "Stop the Drones" in message.get_body(("html",)).get_content()


def package_dirs(folder):
    return sorted(glob.glob(f"{folder}/*-delivery-*"), key=lambda d: int(d.rsplit("-", 1)[1]))


def test_incremental_deliveries_hold_only_new_signatures_and_the_same_trigger_is_one_delivery(tmp_path):
    slug = new_petition()
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder))
    sign(slug, 12)
    ctl("deliver", slug, "--key", "first")
    assert "exists for this key" in ctl("deliver", slug, "--key", "first")
    [first] = settled(slug, 1)
    sign(slug, 7, start=12)
    ctl("deliver", slug, "--key", "second")
    first, second = settled(slug, 2)
    assert "no new signatures" in ctl("deliver", slug, "--key", "third")
    assert len(deliveries(slug)) == 2
    assert (first["signatures"], second["signatures"]) == (12, 7)
    assert second["after_id"] == first["through_id"], "ranges follow each other without gap or overlap"
    one, two = package_dirs(folder)
    rows1, rows2 = (read_csv(open(f"{d}/signatures.csv", "rb").read()) for d in (one, two))
    assert len(rows1) == 12 and len(rows2) == 7 and not {r[0] for r in rows1} & {r[0] for r in rows2}
    assert {r[0] for r in rows2} == {f"Signer {i} \u00c9lise" for i in range(12, 19)}
    assert not glob.glob(f"{folder}/.*"), "no partial files left behind"
    ctl("deliver", slug, "--full", "--key", "everything")
    everything = settled(slug, 3)[-1]
    assert (everything["after_id"], everything["signatures"], everything["full"]) == (0, 19, True)


def test_a_milestone_delivers_once_even_when_announced_twice(tmp_path):
    slug = new_petition(milestones="5")
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder))
    sign(slug, 6)
    [delivery] = settled(slug, 1)
    # Planned when the fifth was counted: it holds every signature stored by then (five or six).
    assert delivery["trigger"] == "milestone:5" and delivery["state"] == "delivered" and delivery["signatures"] in (5, 6)
    # The same milestone again, as a redelivery would bring it: nothing new.
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["UNDERSIGNED_AMQP_URL"]))
    channel = connection.channel()
    message = {"schema": "undersigned.milestone-reached", "version": 1, "petition": slug, "threshold": 5, "total": 6,
               "reached_at": "2026-11-29T12:00:00.000Z"}
    for _ in range(2):
        channel.basic_publish("petitions.milestones", slug, json.dumps(message).encode(),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))
    connection.close()
    time.sleep(3)
    assert len(deliveries(slug)) == 1 and len(package_dirs(folder)) == 1


def test_closing_the_petition_delivers_what_is_left(tmp_path):
    slug = new_petition()
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder), "--on", "close")
    sign(slug, 4)
    ctl("petition", "close", slug)
    [delivery] = settled(slug, 1)
    assert delivery["trigger"] == "close" and delivery["signatures"] == 4


def test_admin_endpoint_needs_the_token_and_shows_the_deliveries(tmp_path):
    slug = new_petition()
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(tmp_path))
    sign(slug, 2)
    ctl("deliver", slug)
    settled(slug, 1)
    url = f"{ENV.tally}/v1/petitions/{slug}/deliveries"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        assert refused.value.code == 401
        assert json.load(refused.value)["status"] == 401
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}), timeout=10) as response:
        body = json.load(response)
    assert body["petition"] == slug and body["deliveries"] == deliveries(slug)


def gone(pid):
    """True once a killed process has let go of everything it held (its port, its files): it no longer
    exists, or only its zombie with no thread left waits to be reaped. What a supervisor waits for before a
    restart; a loaded machine can take a while to tear down a process killed in the middle of disk I/O."""
    try:
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
    except FileNotFoundError:
        return True
    return status["State"].strip().startswith("Z") and int(status["Threads"]) <= 1


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


def million(slug):
    """A million signatures written straight into the table (the package builder is what is measured)."""
    psql(f"""INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, postal_code, source, signed_at)
             SELECT p.id, sha256(('{slug}' || g)::bytea), gen_random_uuid(), 'Signer ' || g || ' Øster',
                    (ARRAY['DE','FR','KE','BR','GB','IN','US','JP'])[1 + g % 8], CASE WHEN g % 3 = 0 THEN (10000 + g % 90000)::text END,
                    'web', now() - make_interval(secs => 1000000 - g)
             FROM petitions p, generate_series(1, 1000000) g WHERE p.slug = '{slug}'""")


def test_a_million_signatures_are_packaged_in_bounded_memory_and_a_killed_delivery_resumes(tmp_path):
    slug = new_petition()
    million(slug)
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder))

    # 1. A delivery service killed while it builds the package: another start takes it up after the lease.
    pid, binary, environ = running_service("delivery")
    spool = environ["UNDERSIGNED_DELIVERY_SPOOL"]
    ctl("deliver", slug)
    assert eventually(lambda: glob.glob(f"{spool}/.building-*"), timeout=30, interval=0.05), "the build started"
    os.kill(pid, signal.SIGKILL)
    assert eventually(lambda: gone(pid), timeout=60), "the killed delivery service did not go away"
    log = open(f"{ENV.local}/logs/delivery-1.log", "ab")
    restarted = subprocess.Popen([binary], env=environ, stdout=log, stderr=log, start_new_session=True)
    with open(f"{ENV.local}/run/delivery-1.pid", "w") as pidfile:
        pidfile.write(str(restarted.pid))
    [delivery] = settled(slug, 1)
    assert delivery["state"] == "delivered" and delivery["signatures"] == 1_000_000 and delivery["attempts"] == 1
    assert not glob.glob(f"{spool}/delivery-{delivery['id']}*") and not glob.glob(f"{spool}/.building-{delivery['id']}-*"), \
        "the spool keeps no names once the package is delivered"

    # 2. The package: a million rows, the manifest's checksum, exactly one package in the folder.
    [package] = package_dirs(folder)
    digest, lines = hashlib.sha256(), 0
    with open(f"{package}/signatures.csv", "rb") as f:
        for line in f:
            digest.update(line)
            lines += 1
    manifest = json.load(open(f"{package}/manifest.json"))
    assert lines == 1_000_001 and digest.hexdigest() == manifest["csv"]["sha256"] == delivery["csv_sha256"]
    assert sum(manifest["counts_by_country"].values()) == 1_000_000

    # 3. Memory: the restarted service built the whole million; its peak resident size stays under 64 MiB.
    peak = peak_rss_mib(restarted.pid)
    print(f"delivery service peak RSS after packaging 1,000,000 signatures: {peak:.1f} MiB")
    assert peak < 64, f"delivery peaked at {peak:.1f} MiB"


def test_done_when_digital_peace_now_crossing_a_milestone_reached_the_webhook_and_the_relay():
    """scripts/api-check sent digital-peace-now past 1,000 signatures; scripts/up configured its targets."""
    slug = ENV.petition
    wanted = {"un-secretary-general": "webhook", "eu-heads-of-government": "email"}

    def delivered():
        return {d["target"] for d in deliveries(slug) if d["state"] == "delivered" and d["trigger"] == "milestone:1000"} >= set(wanted)
    assert eventually(delivered, timeout=90), ctl("deliveries", slug)
    table = ctl("deliveries", slug)
    for target, transport in wanted.items():
        assert any(target in line and transport in line and "delivered" in line for line in table.splitlines())
    un = next(d for d in deliveries(slug) if d["target"] == "un-secretary-general")
    assert os.path.exists(f"{ENV.local}/inbox/webhook/delivery-{un['id']}/verified.txt")


def test_the_manifest_lists_the_text_versions_signers_were_shown_with_their_counts_and_texts(tmp_path):
    slug = new_petition()
    ctl("petition", "translate", slug, "--lang", "fr", "--title", "Arrêtez les drones", "--text", "Ligne un.",
        "--consent", "Oui, tenez-moi informé.")
    with urllib.request.urlopen(f"{ENV.intake}/v1/petitions/{slug}", timeout=10) as response:
        english = json.load(response)["text_version"]
    french = int(psql(f"SELECT t.id FROM petition_texts t JOIN petitions p ON p.id = t.petition_id WHERE p.slug = '{slug}' AND t.language = 'fr'")[0])
    # 3 signers read French, 2 English, 1 sent no version; one forged version (another petition's) is refused.
    for i, (version, language) in enumerate([(french, "fr")] * 3 + [(english, "en")] * 2 + [(None, None)]):
        body = json.dumps({"name": f"Reader {i}", "email": f"reader{i}.{slug}@example.org", "country": "FR",
                           "text_version": version, "language": language}).encode()
        request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
    forged = json.dumps({"name": "Forger", "email": f"forger.{slug}@example.org", "country": "FR", "text_version": 1}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures", data=forged,
                                                      headers={"content-type": "application/json"}), timeout=10)
        raise AssertionError("a text version of another petition was taken")
    except urllib.error.HTTPError as error:
        assert error.code == 422 and json.load(error)["field"] == "text_version"
    assert eventually(lambda: stored(slug) == 6, timeout=60)
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder))
    ctl("deliver", slug)
    settled(slug, 1)
    [package] = package_dirs(folder)
    texts = json.load(open(f"{package}/manifest.json"))["texts"]
    assert texts == [
        {"version": english, "language": "en", "title": "Stop the Drones \u2014 Test", "text": "Line one.\nLine <two> & more.",
         "consent": "Yes, keep me informed about this campaign by email. I can unsubscribe at any time.", "signatures": 2},
        {"version": french, "language": "fr", "title": "Arrêtez les drones", "text": "Ligne un.", "consent": "Oui, tenez-moi informé.",
         "signatures": 3},
        {"signatures": 1},  # no version recorded
    ]
