"""Personal data: `undersigned erase` and `undersigned anonymise` against the running suite's database,
checked by dumping every table and reading every log afterwards."""
import glob
import os
import re
import json
import subprocess
import urllib.request
import uuid

from conftest import ENV, eventually, psql


def ctl(*args):
    return subprocess.run([ENV.bin, *args], check=True, capture_output=True, text=True).stdout


def sign(slug, name, email, country="FR", postal_code=None, contact=False):
    body = {"name": name, "email": email, "country": country, "contact_opt_in": contact}
    if postal_code:
        body["postal_code"] = postal_code
    request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def total(slug):
    with urllib.request.urlopen(f"{ENV.tally}/v1/petitions/{slug}/count", timeout=10) as response:
        return json.load(response)["total"]


def counted(slug, expected):
    return eventually(lambda: total(slug) == expected and int(psql(
        f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id JOIN tally_counted t ON t.signature_id = s.id "
        f"WHERE p.slug = '{slug}'")[0]) == expected, timeout=60)


def dump():
    """Every row of every table, as text."""
    return subprocess.run(["pg_dump", "--data-only", ENV.database], check=True, capture_output=True, text=True).stdout


def logs():
    return "".join(open(f, errors="replace").read() for f in glob.glob(f"{ENV.local}/logs/*.log"))


def new_petition():
    slug = f"privacy-{uuid.uuid4().hex[:8]}"
    ctl("petition", "create", slug, "--title", "Privacy test")
    return slug


def test_erase_removes_a_signer_everywhere_and_keeps_the_count_honest():
    first, second = new_petition(), new_petition()
    tag = uuid.uuid4().hex[:8]
    name, email = f"Zelda Erasable {tag}", f"zelda.{tag}@example.org"
    for slug in (first, second):
        sign(slug, name, email, postal_code=f"PC-{tag}")
        sign(slug, f"Other Person {tag}", f"other.{tag}@example.org")
    assert counted(first, 2) and counted(second, 2)
    assert name in dump()
    # However the address is typed, it is the same signer.
    out = ctl("erase", f"  Zelda.{tag}@EXAMPLE.org ")
    assert "removed 2 signature(s)" in out and email not in out
    # At once in the database; the count API shares its view for 250 ms.
    assert eventually(lambda: total(first) == 1 and total(second) == 1, timeout=5)
    table = dump()
    assert name not in table and email not in table and f"PC-{tag}" not in table
    assert f"Other Person {tag}" in table
    assert name not in logs() and email not in logs() and f"zelda.{tag}" not in logs().lower()
    assert "no signatures" in ctl("erase", email)
    # The counts equal the signatures left, country by country.
    for slug in (first, second):
        assert psql(f"SELECT country, sum(count) FROM petition_counts c JOIN petitions p ON p.id = c.petition_id "
                    f"WHERE p.slug = '{slug}' AND count > 0 GROUP BY country") == ["FR|1"]


def test_erase_before_the_signature_is_counted_does_not_count_it_later():
    slug = new_petition()
    tag = uuid.uuid4().hex[:8]
    # Sign and erase at once: the accepted event may still be on its way to tally.
    sign(slug, f"Quick {tag}", f"quick.{tag}@example.org")
    assert eventually(lambda: int(psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id "
                                       f"WHERE p.slug = '{slug}'")[0]) == 1, timeout=30)
    ctl("erase", f"quick.{tag}@example.org")
    sign(slug, f"Stays {tag}", f"stays.{tag}@example.org")
    assert counted(slug, 1)
    assert total(slug) == 1


def test_anonymise_strips_closed_petitions_and_keeps_counts():
    closed, still_open = new_petition(), new_petition()
    tag = uuid.uuid4().hex[:8]
    for slug in (closed, still_open):
        for i in range(3):
            sign(slug, f"Retained {tag} {i}", f"retained.{tag}.{i}.{slug}@example.org", country=["DE", "KE", "BR"][i], postal_code=f"9{i}{tag[:3]}")
    assert counted(closed, 3) and counted(still_open, 3)
    ctl("petition", "close", closed)
    out = ctl("anonymise", "--closed-before", "2099-01-01")
    assert closed in out and still_open not in out
    rows = psql(f"SELECT name, postal_code, country FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{closed}' ORDER BY country")
    assert rows == ["||BR", "||DE", "||KE"]
    assert total(closed) == 3 and total(still_open) == 3
    table = dump()
    assert f"Retained {tag} 0" in table  # the open petition keeps its signers
    assert sum(table.count(f"Retained {tag} {i}") for i in range(3)) == 3, "only the open petition's names remain"


def test_only_consenting_signers_addresses_are_kept_and_only_sealed():
    slug = new_petition()
    tag = uuid.uuid4().hex[:8]
    yes, no = f"Yes.Contact.{tag}@Example.org", f"no.contact.{tag}@example.org"
    sign(slug, f"Consenting {tag}", yes, contact=True)
    sign(slug, f"Private {tag}", no)
    assert counted(slug, 2)
    rows = psql(f"SELECT name, contact_email IS NOT NULL, length(contact_email) FROM signatures s JOIN petitions p ON p.id = s.petition_id "
                f"WHERE p.slug = '{slug}' ORDER BY name")
    assert rows[0].startswith(f"Consenting {tag}|t|") and rows[1] == f"Private {tag}|f|"
    table = dump()
    assert yes not in table and yes.lower() not in table and no not in table, "no address in plain text anywhere"
    out = ctl("contacts", slug)
    assert out.splitlines() == ["name,email", f'"Consenting {tag}","{yes}"']
    ctl("erase", yes)
    assert ctl("contacts", slug).splitlines() == ["name,email"]


def test_erase_also_takes_the_signer_out_of_dead_letters():
    import pika
    from conftest import add_partner
    from test_partners import envelope, signature
    partner = add_partner("deadletters")
    tag = uuid.uuid4().hex[:8]
    target, other = f"Dead.Letter.{tag}@example.org", f"stays.{tag}@example.org"
    # Published by the administrator with its own user_id to a partner's key: dedup refuses it
    # (partner_mismatch) and it waits in the dead letters (partners' queues dead-letter into
    # dedup.submitted.dead), addresses and all.
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["UNDERSIGNED_AMQP_URL"]))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("partners.submitted", partner["user"], envelope([signature(target), signature(other)]),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2, user_id="guest"), mandatory=True)
    # Letters that are not envelopes at all cannot be taken apart: the one naming the signer (in another
    # case) goes whole, the other stays.
    garbage_named, garbage_other = f"not json, {target.upper()} Ada {tag}", f"not json either, {other} {tag}"
    for body in (garbage_named, garbage_other):
        channel.basic_publish("partners.submitted", partner["user"], body.encode(),
                              pika.BasicProperties(delivery_mode=2, user_id="guest"), mandatory=True)
    connection.close()
    def letters():
        found = re.search(r"(\d+) dead letter", ctl("dead", "list", "--limit", "1000"))
        return "\n".join(ctl("dead", "show", str(i), "--body", "--limit", "1000") for i in range(int(found.group(1)) if found else 0))
    assert eventually(lambda: target in letters() and garbage_named in letters() and garbage_other in letters(), timeout=30)
    out = ctl("erase", target.upper())
    assert "removed 1 signature(s) from dead letters" in out and "removed 1 unreadable dead letter(s)" in out
    remaining = letters()
    assert target not in remaining and target.lower() not in remaining.lower() and other in remaining
    assert garbage_named not in remaining and garbage_other in remaining


def dedup_log_since(offset):
    with open(f"{ENV.local}/logs/dedup-1.log", errors="replace") as log:
        log.seek(offset)
        return log.read()


def test_a_signature_in_flight_at_the_erase_is_never_stored_and_the_signer_may_sign_again():
    import signal
    from conftest import running_service
    slug = new_petition()
    tag = uuid.uuid4().hex[:8]
    email = f"in.flight.{tag}@example.org"
    offset = os.path.getsize(f"{ENV.local}/logs/dedup-1.log")
    pid, _, _ = running_service("dedup")
    # Dedup held still: the signature is accepted (202: in the broker) but not stored when the erase runs.
    os.kill(pid, signal.SIGSTOP)
    try:
        sign(slug, f"In Flight {tag}", email)
        assert "no signatures of that signer" in ctl("erase", email)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert eventually(lambda: '"erased_signer":"1"' in dedup_log_since(offset), timeout=60), "dedup took the letter and refused it"
    assert psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'") == ["0"]
    assert total(slug) == 0
    # Signing again after the erase is the person's new wish: stored and counted.
    sign(slug, f"In Flight {tag}", email)
    assert counted(slug, 1)


def partner_receipt(petitions, prefix):
    """The receipt of one envelope a new partner sends with a row for each petition."""
    import pika
    from conftest import add_partner
    from test_partners import envelope, properties, signature
    partner = add_partner(prefix)
    rows = []
    for petition in petitions:
        rows.append(signature(f"{prefix}.{uuid.uuid4().hex[:8]}@example.org"))
        rows[-1]["petition"] = petition
    connection = pika.BlockingConnection(pika.URLParameters(partner["amqp_url"]))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("partners.submitted", f"{partner['user']}.{prefix}", envelope(rows),
                          properties(partner, f"{prefix}-{uuid.uuid4().hex[:8]}"), mandatory=True)
    receipts = []

    def receipt():
        _, _, body = channel.basic_get(partner["receipt_queue"], auto_ack=True)
        if body:
            receipts.append(json.loads(body))
        return receipts
    assert eventually(receipt, timeout=60)
    connection.close()
    return receipts[0]


def test_a_closed_petition_takes_what_was_signed_before_it_closed_and_no_partner_rows_after():
    slug = new_petition()
    tag = uuid.uuid4().hex[:8]
    from conftest import running_service
    import signal
    pid, _, _ = running_service("dedup")
    os.kill(pid, signal.SIGSTOP)
    try:
        sign(slug, f"Just In Time {tag}", f"just.in.time.{tag}@example.org")  # signed while open, stored after the close
        ctl("petition", "close", slug)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert counted(slug, 1), "a signature intake took before the closing is counted"
    # A partner's rows for the closed petition: refused, with the reason in its receipt; nothing stored.
    [status] = partner_receipt([slug], "late")["rows"]
    assert (status["status"], status.get("reason")) == ("invalid", "the petition is closed"), status
    assert total(slug) == 1 and psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'") == ["1"]


def test_a_partner_row_for_a_petition_past_its_closing_time_is_refused_and_its_neighbours_are_taken():
    """Closed by its closing time (not by hand): the row's reason is in the receipt, and the envelope's row
    for an open petition is taken (the batch is not dead-lettered)."""
    past = f"privacy-{uuid.uuid4().hex[:8]}"
    ctl("petition", "create", past, "--title", "Closed by its time", "--closes-at", "2020-01-01T00:00:00Z")
    closed, taken = partner_receipt([past, ENV.petition], "pastclose")["rows"]
    assert (closed["status"], closed.get("reason")) == ("invalid", "the petition is closed")
    assert taken["status"] == "accepted"
