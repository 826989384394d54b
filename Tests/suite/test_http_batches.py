"""HTTP batches: POST /v1/partners/batches and the receipt at GET /v1/partners/batches/{id}."""
import json
import urllib.error
import urllib.request
import uuid

from conftest import ENV, add_partner, counted, eventually, psql


def call(method, path, body=None, key=None, content_type="text/csv", headers=None):
    request = urllib.request.Request(f"{ENV.intake}{path}", data=body, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_wrong_or_missing_key_is_401():
    assert call("POST", "/v1/partners/batches", b"name,email,country\n")[0] == 401
    status, problem = call("POST", "/v1/partners/batches", b"name,email,country\n", key="usk_not-a-key")
    assert status == 401 and problem["title"] == "Unknown API key"
    assert call("GET", "/v1/partners/batches/x", key="usk_not-a-key")[0] == 401


def test_too_large_is_413():
    partner = add_partner("big")
    # More rows than the configured limit (scripts/api-check sets UNDERSIGNED_PARTNER_BATCH_MAX_ROWS).
    limit = int(ENV.batch_max_rows)
    rows = "\n".join(f"A {i},big{i}.{uuid.uuid4().hex[:6]}@example.org,FR" for i in range(limit + 1))
    status, problem = call("POST", f"/v1/partners/batches?petition={ENV.petition}",
                           f"name,email,country\n{rows}\n".encode(), key=partner["api_key"])
    assert status == 413, problem
    # Announced as too big: refused before anything is read.
    status, _ = call("POST", "/v1/partners/batches", b"x", key=partner["api_key"],
                     headers={"Content-Length": str(int(ENV.batch_max_mib) * 1048576 + 1)})
    assert status == 413


def test_csv_with_bad_rows_takes_the_good_ones_and_the_receipt_names_the_rest():
    partner = add_partner("csv")
    tag = uuid.uuid4().hex[:8]
    csv = (
        "name,email,country,postal_code\n"                            # row 1
        f'"Müller, Zoë",zoe.{tag}@example.org,DE,10115\n'              # row 2: quoted comma, UTF-8
        f'"O""Brien, Siobhán",siobhan.{tag}@example.ie,IE,\n'          # row 3: doubled quote
        f"Extra Field,extra.{tag}@example.org,FR,75001,surplus\n"     # row 4: too many fields
        f"Bad Email,bad.{tag}-at-example.org,FR,\n"                   # row 5: invalid email
        f"李小龍,li.{tag}@example.cn,cn,\n"                            # row 6
        f'"Zoë Again",ZOE.{tag}@EXAMPLE.ORG,DE,\n'                    # row 7: the same signer as row 2
    ).encode()
    batch = f"csv-{tag}"
    status, answer = call("POST", f"/v1/partners/batches?petition={ENV.petition}&batch_id={batch}", csv, key=partner["api_key"])
    assert status == 422, answer
    assert answer["batch_id"] == batch and answer["rows"] == 6
    assert [(row["row"], row["field"]) for row in answer["invalid_rows"]] == [(4, "row"), (5, "email")]
    assert eventually(lambda: counted(partner) == 3)
    names = psql(f"SELECT name FROM signatures WHERE partner = '{partner['user']}' ORDER BY name")
    # Rows 2 and 7 are one signer in two envelopes: whichever dedup sees first is kept, the other is a duplicate.
    assert len(names) == 3 and "O\"Brien, Siobhán" in names and '李小龍' in names
    assert ('Müller, Zoë' in names) != ('Zoë Again' in names)

    def receipt():
        return call("GET", f"/v1/partners/batches/{batch}", key=partner["api_key"])[1]
    assert eventually(lambda: receipt()["complete"] is True)
    full = receipt()
    assert full["totals"] == {"rows": 6, "accepted": 3, "duplicate": 1, "invalid": 2}
    statuses = {row["row"]: row["status"] for row in full["rows"]}
    assert {k: statuses[k] for k in (3, 4, 5, 6)} == {3: "accepted", 4: "invalid", 5: "invalid", 6: "accepted"}
    assert sorted([statuses[2], statuses[7]]) == ["accepted", "duplicate"]
    # Another partner cannot read it.
    other = add_partner("nosy")
    assert call("GET", f"/v1/partners/batches/{batch}", key=other["api_key"])[0] == 404


def test_ndjson_in_the_osdi_shape_and_a_json_array():
    partner = add_partner("osdi")
    tag = uuid.uuid4().hex[:8]
    osdi = {"person": {"given_name": "Wangari", "family_name": "Maathai",
                       "email_addresses": [{"address": f"wangari.{tag}@example.ke", "primary": True}],
                       "postal_addresses": [{"country": "KE", "postal_code": "00100"}]}}
    flat = {"name": "Chico Mendes", "email": f"chico.{tag}@example.br", "country": "BR"}
    body = (json.dumps(osdi) + "\n" + json.dumps(flat) + "\n{not json\n").encode()
    status, answer = call("POST", f"/v1/partners/batches?petition={ENV.petition}", body, key=partner["api_key"],
                          content_type="application/x-ndjson")
    assert status == 422 and answer["invalid_rows"] == [{"row": 3, "field": "row", "reason": "is not JSON"}]
    array = json.dumps([{"name": "Berta Cáceres", "email": f"berta.{tag}@example.hn", "country": "HN"}]).encode()
    status, answer = call("POST", f"/v1/partners/batches?petition={ENV.petition}", array, key=partner["api_key"],
                          content_type="application/json")
    assert status == 202, answer
    assert eventually(lambda: counted(partner) == 3)
    assert psql(f"SELECT country || ' ' || coalesce(postal_code, '-') FROM signatures WHERE partner = '{partner['user']}' ORDER BY country") \
        == ["BR -", "HN -", "KE 00100"]
