"""The stage call, against the running suite: a rehearsal takes the whole path to a count of its own that is
never the real one and never delivered, and reset wipes it; web, kiosk, partner and paper signatures are
counted together and per channel (count API, stage page, `sources`); `undersigned report` draws a loadgen
run, its totals the database's and recount's, its chart an image a browser shows; the count API's history
adds up to the count; an erase lowers a screen's count and says so."""
import base64
import json
import os
import time
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ENV, add_partner, ctl, eventually, fetch, new_petition, psql, rfc3339
from test_pages import SCREEN, browser, violations



def sign(slug, email, headers=None, country="NL", **fields):
    body = json.dumps({"name": "Festival Goer", "email": email, "country": country, **fields}).encode()
    status, _, answer = fetch(f"{ENV.intake}/v1/petitions/{slug}/signatures", method="POST",
                              headers={"content-type": "application/json", **(headers or {})}, data=body)
    return status, json.loads(answer or b"null")


def view(slug):
    return json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/count")[2])


def stored(slug):
    return int(psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'")[0])


def test_a_rehearsal_counts_apart_is_never_delivered_lets_its_signers_sign_for_real_and_reset_wipes_it(tmp_path):
    # A soundcheck before the opening, with a milestone the rehearsal crosses and a target that would take it.
    slug = new_petition("call", "--opens-at", rfc3339(datetime.now(timezone.utc) + timedelta(hours=1)), "--milestones", "3")
    folder = tmp_path / "office"
    ctl("petition", "add-target", slug, "files", "--title", "Archive", "--directory", str(folder), "--on", "milestone,close")
    assert sign(slug, "early@example.org")[0] == 403, "not open yet"
    assert "is on" in ctl("petition", "rehearse", slug, "on")
    emails = [f"crew{i}.{slug}@example.org" for i in range(5)]
    assert eventually(lambda: sign(slug, emails[0])[0] == 202, timeout=10), "every intake takes rehearsal signatures within seconds"
    for email in emails[1:]:
        assert sign(slug, email)[0] == 202
    assert sign(slug, emails[1])[0] == 202  # a duplicate in rehearsal, as it would be for real
    assert eventually(lambda: view(slug)["total"] == 5, timeout=30), view(slug)
    shown = view(slug)
    assert shown["rehearsal"] is True and shown["status"] == "open" and shown["milestones_reached"] == [3], shown
    # The screens say REHEARSAL; the signing page says what is signed is a test.
    page = fetch(f"{ENV.intake}/p/{slug}?lang=en")
    assert page[0] == 200 and b"Rehearsal: signatures given now are a test" in page[2]
    driver = browser(size=SCREEN)
    try:
        driver.get(f"{ENV.tally}/live/{slug}?lang=en&mode=poll")
        WebDriverWait(driver, 20).until(lambda d: "REHEARSAL" in d.find_element(By.ID, "phase").text)
        assert driver.find_element(By.ID, "count").text == "5"
        assert violations(driver) == []
        driver.save_screenshot(str(tmp_path / "rehearsal.png"))
    finally:
        driver.quit()
    # Nothing of it is real: no signature, no count, no milestone, no delivery.
    assert stored(slug) == 0
    assert psql(f"SELECT coalesce(sum(c.count), 0) FROM petition_counts c JOIN petitions p ON p.id = c.petition_id WHERE p.slug = '{slug}'") == ["0"]
    assert psql(f"SELECT count(*) FROM milestones m JOIN petitions p ON p.id = m.petition_id WHERE p.slug = '{slug}'") == ["0"]
    time.sleep(3)
    assert json.loads(ctl("deliveries", slug, "--json")) == [] and not folder.exists()
    assert "no new signatures" in ctl("deliver", slug)
    # Off: the screens show the real count again (0), said by the rehearsal flag, not a count going backwards.
    assert "is off" in ctl("petition", "rehearse", slug, "off")
    assert eventually(lambda: view(slug)["rehearsal"] is False, timeout=10)
    assert view(slug)["total"] == 0 and view(slug)["status"] == "scheduled"
    assert eventually(lambda: sign(slug, emails[0])[0] == 403, timeout=10), "the window applies again"
    # At the opening a crew member who signed in rehearsal signs for real: a new signer there.
    ctl("petition", "extend", slug, "--opens-at", rfc3339(datetime.now(timezone.utc)))
    assert eventually(lambda: sign(slug, emails[0])[0] == 202, timeout=10)
    assert eventually(lambda: view(slug)["total"] == 1, timeout=30)
    # Reset wipes the rehearsal and nothing real.
    assert "5 signatures and a count of 5 wiped" in ctl("petition", "rehearse", slug, "reset"), "reset says what it wiped"
    rehearsal = f"rehearsal-of-{psql(f'SELECT id FROM petitions WHERE slug = {chr(39)}{slug}{chr(39)}')[0]}"
    assert stored(rehearsal) == 0
    assert psql(f"SELECT count(*) FROM petition_counts c JOIN petitions p ON p.id = c.petition_id WHERE p.slug = '{rehearsal}'") == ["0"]
    assert stored(slug) == 1 and view(slug)["total"] == 1
    # A rehearsal is signed only through its petition, never by its own name; no partner sends to it.
    assert sign(rehearsal, "direct@example.org")[0] == 404


def test_web_kiosk_partner_and_paper_signatures_are_counted_together_and_per_channel():
    slug = new_petition("call")
    for i in range(3):
        assert sign(slug, f"web{i}.{slug}@example.org")[0] == 202
    name = f"gate-{uuid.uuid4().hex[:6]}"
    token = [line.strip() for line in ctl("kiosk", "add", name, "--petition", slug).splitlines() if line.strip().startswith("ukk_")][0]
    assert eventually(lambda: sign(slug, f"kiosk0.{slug}@example.org", {"authorization": f"Kiosk {token}"})[0] == 202, timeout=10)
    assert sign(slug, f"kiosk1.{slug}@example.org", {"authorization": f"Kiosk {token}"})[0] == 202
    # A made-up token is refused, and so is a web signer claiming a kiosk's source.
    status, problem = sign(slug, f"forged.{slug}@example.org", {"authorization": "Kiosk ukk_made-up"})
    assert status == 401 and problem["field"] == "authorization"
    body = json.dumps({"name": "Claimer", "email": f"claim.{slug}@example.org", "country": "NL", "source": f"kiosk:{name}"}).encode()
    assert fetch(f"{ENV.intake}/v1/petitions/{slug}/signatures", method="POST", headers={"content-type": "application/json"}, data=body)[0] == 422
    partner = add_partner("channels")
    rows = "name,email,country,source\n" + "".join(
        f"Partner {i},partner{i}.{slug}@example.org,KE,{'paper' if i == 2 else 'newsletter'}\n" for i in range(3))
    status, _, _ = fetch(f"{ENV.intake}/v1/partners/batches?petition={slug}", method="POST", data=rows.encode(),
                         headers={"content-type": "text/csv", "authorization": f"Bearer {partner['api_key']}"})
    assert status == 202
    expected = {"web": 3, "kiosk": 2, "partner": 2, "paper": 1}
    assert eventually(lambda: view(slug)["by_channel"] == expected, timeout=60), view(slug)
    assert view(slug)["total"] == 8
    sources = json.loads(ctl("sources", slug, "--json"))
    assert sources["channels"] == expected
    assert {s["source"] for s in sources["sources"]} == {"web", f"kiosk:{name}", f"partner:{partner['user']}", f"paper:{partner['user']}"}
    assert "by channel: web 3, kiosk 2, partner 2, paper 1" in ctl("sources", slug)
    assert "counts agree" in ctl("recount")
    # The stage page shows the channels.
    driver = browser(size=SCREEN)
    try:
        driver.get(f"{ENV.tally}/live/{slug}?lang=en&mode=poll")
        WebDriverWait(driver, 20).until(lambda d: "Kiosks 2" in d.find_element(By.ID, "channels").text)
        assert driver.find_element(By.ID, "channels").text == "Web 3 · Kiosks 2 · Partners 2 · Paper 1"
    finally:
        driver.quit()
    # A revoked kiosk is refused within seconds.
    assert "revoked" in ctl("kiosk", "revoke", name)
    assert eventually(lambda: sign(slug, f"kiosk2.{slug}@example.org", {"authorization": f"Kiosk {token}"})[0] == 401, timeout=10)
    assert f"{name}" in ctl("kiosk", "list") and "REVOKED" in ctl("kiosk", "list")


def test_a_kiosk_signature_counts_only_in_the_rehearsal_it_was_taken_in_and_a_rehearsal_is_reached_only_through_its_petition():
    """A kiosk queues offline: a soundcheck's signature sent after the show opened must not count as real,
    nor a real one sent during a rehearsal. The rehearsal's own slug answers nothing public, and a reset
    during the rehearsal takes a screen's count down, saying so (erased)."""
    slug = new_petition("call")
    name = f"soundcheck-{uuid.uuid4().hex[:6]}"
    token = [line.strip() for line in ctl("kiosk", "add", name, "--petition", slug).splitlines() if line.strip().startswith("ukk_")][0]
    kiosk = {"authorization": f"Kiosk {token}"}
    ctl("petition", "rehearse", slug, "on")
    assert eventually(lambda: json.loads(fetch(f"{ENV.intake}/v1/petitions/{slug}")[2])["rehearsal"] is True, timeout=10)
    assert eventually(lambda: sign(slug, f"crew.{slug}@example.org", kiosk, rehearsal=True)[0] == 202, timeout=10)
    status, problem = sign(slug, f"early.{slug}@example.org", kiosk, rehearsal=False)
    assert (status, problem["field"], problem["rehearsal"]) == (409, "rehearsal", "true"), problem
    assert eventually(lambda: view(slug)["total"] == 1 and view(slug)["rehearsal"] is True, timeout=30), view(slug)
    rehearsal = f"rehearsal-of-{psql(f'SELECT id FROM petitions WHERE slug = {chr(39)}{slug}{chr(39)}')[0]}"
    for path in (f"/v1/petitions/{rehearsal}/count", f"/v1/petitions/{rehearsal}/history", f"/live/{rehearsal}",
                 f"/v1/petitions/{rehearsal}/live"):
        assert fetch(f"{ENV.tally}{path}")[0] == 404, path
    assert fetch(f"{ENV.intake}/v1/petitions/{rehearsal}")[0] == 404
    # A reset during the rehearsal: the screens go to zero because the rehearsal's erasures grew.
    assert "1 signatures and a count of 1 wiped" in ctl("petition", "rehearse", slug, "reset")
    assert eventually(lambda: (view(slug)["total"], view(slug)["erased"]) == (0, 1), timeout=10), view(slug)
    # Off: the soundcheck's queued signature is refused, a real one is taken.
    ctl("petition", "rehearse", slug, "off")
    assert eventually(lambda: json.loads(fetch(f"{ENV.intake}/v1/petitions/{slug}")[2])["rehearsal"] is False, timeout=10)
    status, problem = sign(slug, f"late-crew.{slug}@example.org", kiosk, rehearsal=True)
    assert (status, problem["rehearsal"]) == (409, "false"), problem
    assert sign(slug, f"early.{slug}@example.org", kiosk, rehearsal=False)[0] == 202
    assert eventually(lambda: view(slug)["total"] == 1 and view(slug)["rehearsal"] is False, timeout=30), view(slug)
    assert stored(slug) == 1 and stored(rehearsal) == 0
    # The refusal is in the call's history (intake writes its refusals every 5 s).
    reasons = f"SELECT reason FROM refusal_minutes r JOIN petitions p ON p.id = r.petition_id WHERE p.slug = '{slug}'"
    assert eventually(lambda: "rehearsal_mismatch" in psql(reasons), timeout=20), psql(reasons)


def test_an_erase_lowers_the_count_a_screen_shows_and_says_so():
    slug = new_petition("call")
    for i in range(3):
        assert sign(slug, f"erase{i}.{slug}@example.org")[0] == 202
    assert eventually(lambda: view(slug)["total"] == 3, timeout=30)
    assert view(slug)["erased"] == 0
    driver = browser(size=SCREEN)
    try:
        driver.get(f"{ENV.tally}/live/{slug}?lang=en")
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "count").text == "3")
        ctl("erase", f"erase1.{slug}@example.org")
        assert eventually(lambda: view(slug)["total"] == 2 and view(slug)["erased"] == 1, timeout=10), view(slug)
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "count").text == "2")
    finally:
        driver.quit()


def test_the_report_of_a_loadgen_run_agrees_with_the_database_and_recount_and_draws_an_image(tmp_path):
    slug = new_petition("call", "--milestones", "100,200")
    summary = tmp_path / "load.json"
    ctl("loadgen", "--url", ENV.intake, "--petition", slug, "--signatures", "400", "--duplicates", "0.1", "--concurrency", "16",
        "--seed", str(int(time.time())), "--summary", str(summary))
    accepted = stored(slug)
    assert accepted > 300
    assert eventually(lambda: view(slug)["total"] == accepted, timeout=60)
    time.sleep(6)  # intake writes its refusals every 5 s
    out = ctl("report", slug, "--out", str(tmp_path))
    report = json.load(open(tmp_path / f"{slug}-report.json"))
    database = {
        "accepted": accepted,
        "counted": int(psql(f"SELECT count(*) FROM signatures s JOIN tally_counted t ON t.signature_id = s.id "
                            f"JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'")[0]),
    }
    assert report["totals"]["accepted"] == database["accepted"] == sum(s["accepted"] for s in report["slots"])
    assert report["totals"]["counted"] == database["counted"] == sum(s["counted"] for s in report["slots"]) == view(slug)["total"]
    assert report["by_channel"] == {"web": accepted}
    # Duplicates: every send load made that was not stored, as dedup saw them.
    assert report["totals"]["duplicates"] == report["refusals"]["duplicate"] > 0
    assert [m["threshold"] for m in report["milestones"]] == [100, 200]
    assert report["lag_ms"] and all(0 <= lag["p50"] <= lag["p95"] <= lag["p99"] for lag in report["lag_ms"])
    assert sum(lag["count"] for lag in report["lag_ms"]) == database["counted"]
    assert f"{accepted} accepted, {database['counted']} counted" in out
    recount = ctl("recount")
    assert f"{slug}: {accepted} signatures" in recount and "counts agree" in recount
    # The history API adds up to the count.
    history = json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/history")[2])
    assert sum(n for _, n in history["minutes"]) == view(slug)["total"]
    assert fetch(f"{ENV.tally}/v1/petitions/{slug}/history?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z")[0] == 400
    # The chart is a valid SVG image that a browser draws.
    svg = open(tmp_path / f"{slug}-report.svg", "rb").read()
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox") == "0 0 1200 780"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 5
    driver = browser(size=SCREEN)
    try:
        driver.get("data:text/html,<img id=chart>")
        size = driver.execute_async_script(
            "const done = arguments[1], img = document.getElementById('chart');"
            "img.onload = () => done([img.naturalWidth, img.naturalHeight]); img.onerror = () => done(null);"
            "img.src = 'data:image/svg+xml;base64,' + arguments[0];", base64.b64encode(svg).decode())
        assert size == [1200, 780]
        driver.get(f"file://{tmp_path}/{slug}-report.svg")
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()
    assert os.path.getsize(tmp_path / "report.png") > 10_000
