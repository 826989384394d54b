"""docs/partners.md as a partner's engineer follows it: its examples run, its schema holds."""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import jsonschema

from conftest import ENV, add_partner, counted, eventually

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs/partners.md").read_text()
SCHEMA = json.loads((ROOT / "Shared/Models/Schemas/envelope.v1.schema.json").read_text())


def test_the_pika_example_pushes_a_csv_and_its_receipts_account_for_every_row(tmp_path):
    partner = add_partner("pika")
    tag = uuid.uuid4().hex[:8]
    rows, invalid = 5000, 0
    lines = ["name,email,country,postal_code,contact_opt_in"]
    for i in range(rows):
        if i % 250 == 3:
            lines.append(f"Broken {i},broken{i}.{tag}-at-example.org,FR,,no")
            invalid += 1
        elif i % 20 == 19:
            lines.append(f'"Again, {i}",Person{i - 1}.{tag}@Example.org,NL,,yes')
        else:
            lines.append(f'"Person, {i}",person{i}.{tag}@example.org,NL,1011 AB,yes')
    csv = tmp_path / "signatures.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "docs/examples/partner_push.py"), str(csv), "--petition", ENV.petition],
                         env=dict(os.environ, PARTNER_AMQP_URL=partner["amqp_url"]), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr + run.stdout
    summary = re.search(r"rows=(\d+) accepted=(\d+) duplicate=(\d+) invalid=(\d+) envelopes_without_receipt=(\d+)", run.stdout)
    assert summary, run.stdout
    total, accepted, duplicate, bad, missing = map(int, summary.groups())
    assert (total, missing, bad) == (rows, 0, invalid)
    assert accepted + duplicate + bad == rows
    assert eventually(lambda: counted(partner) == accepted)


def test_the_amqp_publish_example_works_as_written():
    partner = add_partner("shell")
    block = re.search(r"<!-- example: amqp-publish -->\n```sh\n(.*?)```", DOC, re.S).group(1)
    publish, get = [command for command in block.replace("\\\n", " ").splitlines() if command.strip()]
    env = dict(os.environ, PARTNER_AMQP_URL=partner["amqp_url"], PARTNER=partner["user"])
    cwd = ROOT / "docs/examples"
    subprocess.run(["bash", "-c", publish], env=env, cwd=cwd, check=True, timeout=60)
    receipt = {}

    def got():
        result = subprocess.run(["bash", "-c", get], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        if result.returncode == 0 and result.stdout.strip():
            receipt.update(json.loads(result.stdout))
            return True
        return False
    assert eventually(got, timeout=30)
    assert receipt["partner"] == partner["user"] and receipt["totals"]["rows"] == 2
    assert receipt["totals"]["invalid"] == 0
    assert [row["row"] for row in receipt["rows"]] == [1, 2]


def test_the_published_schema_takes_the_examples_and_refuses_a_broken_envelope():
    example = json.loads((ROOT / "docs/examples/envelope.json").read_text())
    jsonschema.validate(example, SCHEMA)
    osdi = json.loads(json.dumps(example))
    person = osdi["signatures"][0]
    for key in ("name", "email", "country", "postal_code"):
        person.pop(key, None)
    person["person"] = {"given_name": "Wangari", "family_name": "Maathai",
                        "email_addresses": [{"address": "wangari@example.org", "primary": True}],
                        "postal_addresses": [{"country": "KE", "postal_code": "00100"}]}
    jsonschema.validate(osdi, SCHEMA)
    broken = json.loads(json.dumps(example))
    del broken["signatures"][1]["email"]
    try:
        jsonschema.validate(broken, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an envelope without an email passed the schema")
