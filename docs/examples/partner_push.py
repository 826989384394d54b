#!/usr/bin/env python3
"""Push a CSV of signatures to Undersigned over AMQP with pika, then wait for the receipts.

    pip install pika==1.3.2
    PARTNER_AMQP_URL='amqp://acme:PASSWORD@undersigned.example.org:5672/%2f' \
        python3 partner_push.py signatures.csv --petition digital-peace-now

The CSV has a header row: name, email, country, and optionally postal_code, contact_opt_in, petition,
signed_at (RFC 3339). Rows are numbered as in a spreadsheet (the header is row 1), and the receipts use
those numbers. Ids are derived from the file and the row, so running it again sends the same envelopes
and Undersigned counts each signature once.
"""
import argparse
import csv
import hashlib
import io
import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import pika

ENVELOPE_SIZE = 500  # at most 1,000 signatures per envelope
NAMESPACE = uuid.UUID("6f0c7c1e-2d4b-4f7e-9a55-8b1d2c3e4f50")  # any fixed UUID of your own


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--petition", help="for rows without a petition column")
    parser.add_argument("--receipt-timeout", type=float, default=120)
    args = parser.parse_args()

    params = pika.URLParameters(os.environ["PARTNER_AMQP_URL"])
    partner = params.credentials.username
    data = open(args.csv, "rb").read()
    batch = "file-" + hashlib.sha256(data).hexdigest()[:16]
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()  # basic_publish now returns once the broker has the message safely
    pending = {}
    for start in range(0, len(rows), ENVELOPE_SIZE):
        first_row = start + 2
        envelope_id = str(uuid.uuid5(NAMESPACE, f"{partner}/{batch}/{first_row}"))
        signatures = [{
            "submission_id": str(uuid.uuid5(NAMESPACE, f"{partner}/{batch}/row/{first_row + i}")),
            "petition": row.get("petition") or args.petition,
            "name": row.get("name", ""),
            "email": row.get("email", ""),
            "country": row.get("country", ""),
            "postal_code": row.get("postal_code") or None,
            "contact_opt_in": (row.get("contact_opt_in") or "").strip().lower() in ("1", "true", "yes", "on"),
            "source": "partner",
            "signed_at": row.get("signed_at") or now,
        } for i, row in enumerate(rows[start:start + ENVELOPE_SIZE])]
        body = json.dumps({"schema": "undersigned.envelope", "version": 1, "envelope_id": envelope_id,
                           "sent_at": now, "signatures": signatures})
        channel.basic_publish(
            exchange="partners.submitted", routing_key=f"{partner}.{batch}", body=body, mandatory=True,
            properties=pika.BasicProperties(
                content_type="application/json", delivery_mode=2, user_id=partner, message_id=batch,
                type="undersigned.envelope", headers={"x-first-row": first_row}))
        pending[envelope_id] = len(signatures)
        done = start + len(signatures)
        print(f"\rconfirmed {done}/{len(rows)} rows", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    # One receipt per envelope arrives on the partner's own queue once Undersigned has stored the batch.
    totals, problems = Counter(), []
    deadline = time.monotonic() + args.receipt_timeout
    while pending and time.monotonic() < deadline:
        method, _, body = channel.basic_get(f"partner.{partner}.receipts")
        if method is None:
            time.sleep(0.5)
            continue
        receipt = json.loads(body)
        if pending.pop(receipt.get("envelope_id"), None) is not None:
            totals.update(receipt["totals"])
            problems += [row for row in receipt["rows"] if row["status"] == "invalid"]
        channel.basic_ack(method.delivery_tag)  # receipts of other batches are dropped here; keep them if you need them
    connection.close()

    print(f"batch {batch}: rows={totals['rows']} accepted={totals['accepted']} duplicate={totals['duplicate']} "
          f"invalid={totals['invalid']} envelopes_without_receipt={len(pending)}")
    for row in sorted(problems, key=lambda r: r["row"])[:10]:
        print(f"  row {row['row']}: {row.get('field')}: {row.get('reason')}")
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main())
