"""The signing window and the pause switch, against the running suite: a petition not open yet refuses
signatures (403, saying when) until its time; a pause reaches two intake instances within seconds (503 with
Retry-After; the page, the count and the stage screen say so) and resume takes signatures again; extend
moves the closing time."""
import json
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ENV, ctl, eventually, fetch, free_port, new_petition, ready, rfc3339, running_service
from test_pages import SCREEN, browser, violations



def sign(base, slug):
    body = json.dumps({"name": "Festival Goer", "email": f"goer.{uuid.uuid4().hex}@example.org", "country": "NL"}).encode()
    status, headers, answer = fetch(f"{base}/v1/petitions/{slug}/signatures", method="POST",
                                    headers={"content-type": "application/json"}, data=body)
    return status, headers, json.loads(answer or b"null")




def test_a_petition_not_open_yet_says_when_and_opens_at_its_time():
    opens = datetime.now(timezone.utc) + timedelta(seconds=8)
    slug = new_petition("window", "--opens-at", rfc3339(opens))
    status, headers, problem = sign(ENV.intake, slug)
    said = datetime.strptime(problem["opens_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert status == 403 and problem["title"] == "Not open yet" and abs((said - opens).total_seconds()) < 0.002, problem
    assert 1 <= int(headers["Retry-After"]) <= 9
    status, _, page = fetch(f"{ENV.intake}/p/{slug}?lang=en")
    assert status == 403 and b"Signing has not opened yet" in page and b"UTC" in page
    assert json.loads(fetch(f"{ENV.intake}/v1/petitions/{slug}")[2])["status"] == "scheduled"
    time.sleep(max(0.0, (opens - datetime.now(timezone.utc)).total_seconds()))
    assert sign(ENV.intake, slug)[0] == 202, "open at its time, without waiting for any cache"
    assert json.loads(fetch(f"{ENV.intake}/v1/petitions/{slug}")[2])["status"] in ("scheduled", "open")  # the JSON may be 5 s old


def test_a_pause_reaches_two_intakes_within_seconds_and_resume_takes_signatures_again():
    slug = new_petition("window")
    _, binary, environ = running_service("intake")
    port, ops = free_port(), free_port()
    environ = {**environ, "UNDERSIGNED_INTAKE_PORT": str(port), "UNDERSIGNED_INTAKE_OPS_PORT": str(ops), "UNDERSIGNED_INSTANCE": "intake-second"}
    log = open(f"{ENV.local}/logs/intake-second.log", "ab")
    second = subprocess.Popen([binary], env=environ, stdout=log, stderr=log, start_new_session=True)
    intakes = [ENV.intake, f"http://127.0.0.1:{port}"]
    try:
        assert eventually(lambda: ready(f"http://127.0.0.1:{ops}"), timeout=60), "the second intake instance is ready"
        assert [sign(base, slug)[0] for base in intakes] == [202, 202], "both take signatures (and know the petition)"
        # A screen on the live stream since before the pause is told of it, though the count does not move.
        statuses = []

        def follow():
            request = urllib.request.Request(f"{ENV.tally}/v1/petitions/{slug}/live", headers={"accept": "text/event-stream"})
            with urllib.request.urlopen(request, timeout=60) as stream:
                for line in stream:
                    if line.startswith(b"data: "):
                        statuses.append(json.loads(line[6:])["status"])
        threading.Thread(target=follow, daemon=True).start()
        assert eventually(lambda: statuses[-1:] == ["open"], timeout=10)
        paused_at = time.monotonic()
        ctl("petition", "pause", slug)
        assert eventually(lambda: all(sign(base, slug)[0] == 503 for base in intakes), timeout=15, interval=0.2)
        assert time.monotonic() - paused_at < 8, "within seconds on every instance"
        for base in intakes:
            status, headers, problem = sign(base, slug)
            assert (status, headers["Retry-After"], problem["title"]) == (503, "30", "Signing paused")
            status, headers, page = fetch(f"{base}/p/{slug}?lang=fr")
            assert status == 503 and "suspendue" in page.decode() and headers["Cache-Control"] == "no-store"
        assert eventually(lambda: json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/count")[2])["status"] == "paused", timeout=10)
        assert eventually(lambda: statuses[-1:] == ["paused"], timeout=10), statuses
        # The stage screen says so too (in a real browser, polling).
        screen = browser(size=SCREEN)
        try:
            screen.get(f"{ENV.tally}/live/{slug}?screen=main&mode=poll")
            WebDriverWait(screen, 20).until(lambda d: d.find_element(By.ID, "phase").is_displayed())
            assert screen.find_element(By.ID, "phase").text == "Signing paused: back in a moment"
            assert violations(screen) == []
        finally:
            screen.quit()
        ctl("petition", "resume", slug)
        assert eventually(lambda: all(sign(base, slug)[0] == 202 for base in intakes), timeout=15, interval=0.2)
        assert fetch(f"{ENV.intake}/p/{slug}")[0] == 200
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)


def test_extend_moves_the_closing_time():
    slug = new_petition("window", "--closes-at", rfc3339(datetime.now(timezone.utc) + timedelta(seconds=2)))
    assert eventually(lambda: sign(ENV.intake, slug)[0] == 410, timeout=15), "closed at its time"
    out = ctl("petition", "extend", slug, "--closes-at", rfc3339(datetime.now(timezone.utc) + timedelta(hours=1)))
    assert "(open)" in out
    assert eventually(lambda: sign(ENV.intake, slug)[0] == 202, timeout=15), "open again until the new closing time"
