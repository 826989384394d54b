"""Signer verification against the running suite (scripts/api-check: links last 30 s): the mail goes out
through the relay, GET never confirms (mail scanners open links), POST confirms once, the count follows,
an expired or forged link is refused, unconfirmed signatures are removed."""
import email
import email.policy
import glob
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from conftest import ENV, eventually, psql


def ctl(*args):
    return subprocess.run([ENV.bin, *args], check=True, capture_output=True, text=True).stdout


def sign(slug, address, contact=False):
    request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures",
                                     data=json.dumps({"name": "Vera Verify", "email": address, "country": "NL", "contact_opt_in": contact}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def fetch(url, method="GET"):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def total(slug):
    with urllib.request.urlopen(f"{ENV.tally}/v1/petitions/{slug}/count", timeout=10) as response:
        return json.load(response)["total"]


def link_for(address):
    """The confirmation link in the mail the relay received for `address`."""
    found = []

    def arrived():
        for path in glob.glob(f"{ENV.local}/inbox/mail/*.eml"):
            message = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
            if message["To"] == address and "confirm" in message["Subject"].lower():
                found.append(re.search(r"https?://\S+/v1/verify/\S+", message.get_content()).group(0))
                return True
        return False
    assert eventually(arrived, timeout=30), "the verification mail arrived"
    return found[0]


def new_petition():
    slug = f"verify-{uuid.uuid4().hex[:8]}"
    ctl("petition", "create", slug, "--title", "Verified petition", "--require-verification")
    return slug


def test_a_signature_counts_only_after_its_signer_confirms_with_a_post():
    slug = new_petition()
    address = f"vera.{uuid.uuid4().hex[:8]}@example.org"
    sign(slug, address)
    link = link_for(address)
    assert link.startswith(ENV.intake + "/v1/verify/")
    time.sleep(2)
    assert total(slug) == 0, "not counted before confirmation"
    # A mail scanner opens the link: nothing happens.
    status, page = fetch(link)
    assert status == 200 and 'method="post"' in page
    time.sleep(2)
    assert total(slug) == 0 and psql(f"SELECT verified_at IS NULL FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'") == ["t"]
    status, page = fetch(link, "POST")
    assert status == 200 and "confirmed" in page
    assert eventually(lambda: total(slug) == 1, timeout=30)
    # Single use: again, nothing more is counted.
    status, page = fetch(link, "POST")
    assert status == 200 and "confirmed" in page
    time.sleep(2)
    assert total(slug) == 1
    # The address was kept (sealed) only for the mail: gone once confirmed, as the signer did not opt in.
    assert psql(f"SELECT contact_email IS NULL FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'") == ["t"]
    # A forged link.
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert fetch(forged, "POST")[0] == 404 and fetch(link.rsplit("/", 1)[0] + "/1.2.3", "POST")[0] == 404


def test_an_unconfirmed_signature_expires_and_its_link_is_refused():
    slug = new_petition()
    address = f"late.{uuid.uuid4().hex[:8]}@example.org"
    sign(slug, address)
    link = link_for(address)
    count = lambda: int(psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'")[0])
    assert count() == 1
    assert eventually(lambda: count() == 0, timeout=75), "removed after the link ran out"
    status, page = fetch(link, "POST")
    assert status == 410 and "sign again" in page
    assert total(slug) == 0
    # The signer can sign again, and confirm in time.
    sign(slug, address)
    assert eventually(lambda: count() == 1, timeout=30)


def test_the_mail_is_in_the_signers_language_and_carries_nothing_the_signer_typed():
    slug = new_petition()
    ctl("petition", "translate", slug, "--lang", "fr", "--title", "Pétition vérifiée")
    address = f"amelie.{uuid.uuid4().hex[:8]}@example.org"
    request = urllib.request.Request(f"{ENV.intake}/v1/petitions/{slug}/signatures", headers={"content-type": "application/json"},
                                     data=json.dumps({"name": "Buy cheap pills at spam.example", "email": address, "country": "FR",
                                                      "language": "fr"}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    french = json.load(open("Shared/Pages/Catalogues/fr.json", encoding="utf-8"))
    found = []

    def arrived():
        for path in glob.glob(f"{ENV.local}/inbox/mail/*.eml"):
            message = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
            if message["To"] == address:
                found.append(message)
                return True
        return False
    assert eventually(arrived, timeout=30), "the verification mail arrived"
    message = found[0]
    assert message["Subject"].startswith(french["verify_mail_subject"]) and message["Content-Language"] == "fr"
    body = message.get_content()
    assert french["verify_mail_body"].split("\n")[0].split("{title}")[0] in body
    assert "spam.example" not in body and "pills" not in message.as_string(), "the name the signer typed is not in the mail"
