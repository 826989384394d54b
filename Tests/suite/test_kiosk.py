"""The kiosk in headless Chromium, against the running suite: set up by the link `kiosk add` prints, it goes
offline (DevTools network emulation, and intake itself killed, so nothing can answer but the device's own
cache), takes 200 signatures, is reloaded while offline, comes back online while intake is killed again in
the middle of the sync: every signature is counted exactly once, with source kiosk:NAME, and the device holds
nothing afterwards. Between signers the form is blank and no history entry is made."""
import json
import os
import signal
import subprocess
import time
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ENV, ctl, eventually, fetch, new_petition, psql, ready, running_service
from test_pages import browser, violations

SIGNERS = 200

# Signs `count` people from `start` through the page's own form (values set, the form submitted as the button
# would), each after the previous one has been kept and the form emptied.
SIGN = """
const [start, count, slug, done] = arguments, form = document.getElementById("kiosk-form");
const blank = () => ["name", "email", "country", "postal_code"].every(n => form.elements[n].value === "");
const countries = ["NL", "DE", "FR", "GB", "KE", "BR"];
(async () => {
  const left = [];
  for (let i = start; i < start + count; i++) {
    form.elements.name.value = `Kiosk Signer ${i}`;
    form.elements.email.value = `kiosk${i}.${slug}@example.org`;
    form.elements.country.value = countries[i % countries.length];
    form.elements.postal_code.value = String(10000 + i);
    form.requestSubmit();
    const deadline = Date.now() + 5000;
    while (!blank() && Date.now() < deadline) await new Promise(r => setTimeout(r, 5));
    if (!blank()) left.push(i);
  }
  done(left);
})();
"""

# What the device holds: the queue's length in IndexedDB.
HELD = """
const done = arguments[0], opening = indexedDB.open("undersigned-kiosk", 1);
opening.onsuccess = () => { const r = opening.result.transaction("queue").objectStore("queue").count(); r.onsuccess = () => done(r.result); };
opening.onerror = () => done(-1);
"""


def stored(slug):
    return int(psql(f"SELECT count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}'")[0])


class Intake:
    """Instance 1 of intake as scripts/up started it: killed with SIGKILL, and started again the same way."""

    def __init__(self):
        self.pid, self.binary, self.environ = running_service("intake")
        self.ops = f"http://127.0.0.1:{self.environ['UNDERSIGNED_INTAKE_OPS_PORT']}"

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        assert eventually(lambda: not os.path.exists(f"/proc/{self.pid}") or open(f"/proc/{self.pid}/stat").read().split()[2] == "Z",
                          timeout=30)

    def start(self):
        log = open(f"{ENV.local}/logs/intake-1.log", "ab")
        self.pid = subprocess.Popen([self.binary], env=self.environ, stdout=log, stderr=log, start_new_session=True).pid
        with open(f"{ENV.local}/run/intake-1.pid", "w") as pidfile:
            pidfile.write(str(self.pid))
        assert eventually(lambda: ready(self.ops), timeout=90), "intake did not come back"


def offline(driver, state):
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": state, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def test_a_kiosk_signs_offline_survives_a_reload_and_an_intake_kill_and_counts_each_signature_once(tmp_path):
    slug = new_petition("kiosk", title="Signed at the gate")
    name = f"gate-{uuid.uuid4().hex[:6]}"
    link = [line.strip() for line in ctl("kiosk", "add", name, "--petition", slug).splitlines() if "#kiosk=" in line][0]
    assert link.startswith("http") and f"/kiosk/{slug}#kiosk=ukk_" in link
    intake, driver = Intake(), browser()
    try:
        driver.get(f"{ENV.intake}/kiosk/{slug}?lang=en#kiosk={link.split('#kiosk=')[1]}")
        assert "#kiosk" not in driver.current_url, "the token leaves the address bar at once"
        assert driver.find_element(By.ID, "setup").get_attribute("hidden") is not None
        assert driver.find_element(By.ID, "queue").text == "Every signature is sent"
        assert violations(driver) == []
        # The service worker controls the page and the page is kept for offline reloads.
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))
        WebDriverWait(driver, 20).until(lambda d: d.execute_async_script(
            "caches.match(location.pathname + location.search).then(hit => arguments[0](!!hit))"))
        history = driver.execute_script("return history.length")
        for field in ("kiosk-form", "name", "email", "country", "postal_code"):
            assert driver.find_element(By.ID, field).get_attribute("autocomplete") == "off"

        # The Wi-Fi drops, and nothing at all answers (intake is gone too).
        driver.execute_cdp_cmd("Network.enable", {})
        offline(driver, True)
        intake.kill()
        assert driver.execute_async_script(SIGN, 0, SIGNERS // 2, slug) == []
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == str(SIGNERS // 2))
        assert "Waiting to send: 100" in driver.find_element(By.ID, "queue").text
        assert "No network" in driver.find_element(By.ID, "queue").text
        # Reloaded while offline: the page comes from the device, and what it holds is still there.
        driver.refresh()
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == str(SIGNERS // 2))
        assert driver.execute_async_script(SIGN, SIGNERS // 2, SIGNERS // 2, slug) == []
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == str(SIGNERS))
        assert driver.execute_async_script(HELD) == SIGNERS
        # Nothing of the last signer is left in the form, and no signer made a history entry.
        assert all(driver.find_element(By.ID, f).get_attribute("value") == "" for f in ("name", "email", "postal_code"))
        assert driver.execute_script("return history.length") <= history + 1  # the reload, at most
        driver.save_screenshot(str(tmp_path / "kiosk-offline.png"))
        intake.start()
        assert stored(slug) == 0, "nothing was sent while offline"

        # Back online: the kiosk sends, in order; intake is killed in the middle and started again.
        offline(driver, False)
        assert eventually(lambda: stored(slug) >= 20, timeout=60), "the kiosk did not start sending"
        assert stored(slug) < SIGNERS, "the sync finished before intake could be killed in its middle"
        intake.kill()
        time.sleep(1)
        intake.start()
        assert eventually(lambda: stored(slug) == SIGNERS, timeout=180), f"{stored(slug)} of {SIGNERS} stored"
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == "0")
        assert driver.execute_async_script(HELD) == 0, "the device holds nothing afterwards"
        assert driver.find_element(By.ID, "queue").text == "Every signature is sent"
        driver.save_screenshot(str(tmp_path / "kiosk-synced.png"))
    finally:
        driver.quit()
    # Exactly once: 200 signatures, 200 counted, all of them the kiosk's.
    assert eventually(lambda: json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/count")[2])["total"] == SIGNERS, timeout=60)
    assert time.sleep(2) or json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/count")[2])["by_channel"] == {"kiosk": SIGNERS}
    assert psql(f"SELECT source, count(*) FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE p.slug = '{slug}' "
                f"GROUP BY source") == [f"kiosk:{name}|{SIGNERS}"]
    assert psql(f"SELECT count(DISTINCT s.email_key) FROM (SELECT signer_key AS email_key FROM signatures s JOIN petitions p "
                f"ON p.id = s.petition_id WHERE p.slug = '{slug}') s") == [str(SIGNERS)]
    assert "counts agree" in ctl("recount")


def test_a_kiosk_signature_taken_in_a_rehearsal_is_never_counted_as_real(tmp_path):
    """A soundcheck on a kiosk that is offline: its signatures are still on the device when the rehearsal
    ends. Sent afterwards, intake refuses them (409) and the kiosk drops them; the next real signer counts."""
    slug = new_petition("kiosk", title="Soundcheck at the gate")
    name = f"soundcheck-{uuid.uuid4().hex[:6]}"
    link = [line.strip() for line in ctl("kiosk", "add", name, "--petition", slug).splitlines() if "#kiosk=" in line][0]
    ctl("petition", "rehearse", slug, "on")

    def rehearsing():
        return json.loads(fetch(f"{ENV.intake}/v1/petitions/{slug}")[2])["rehearsal"]
    assert eventually(rehearsing, timeout=10)
    rehearsal = f"rehearsal-of-{psql(f'SELECT id FROM petitions WHERE slug = {chr(39)}{slug}{chr(39)}')[0]}"
    driver = browser()
    try:
        driver.get(f"{ENV.intake}/kiosk/{slug}?lang=en#kiosk={link.split('#kiosk=')[1]}")
        banner = driver.find_element(By.ID, "rehearsal")
        assert banner.is_displayed() and "Rehearsal" in banner.text
        driver.execute_cdp_cmd("Network.enable", {})
        offline(driver, True)
        assert driver.execute_async_script(SIGN, 0, 3, f"crew.{slug}") == []
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == "3")
        driver.save_screenshot(str(tmp_path / "kiosk-rehearsal.png"))
        ctl("petition", "rehearse", slug, "off")
        assert eventually(lambda: rehearsing() is False, timeout=10)
        offline(driver, False)
        driver.execute_script("window.dispatchEvent(new Event('online'))")
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == "0")
        assert driver.execute_async_script(HELD) == 0, "the soundcheck's signatures were dropped"
        WebDriverWait(driver, 20).until(lambda d: not d.find_element(By.ID, "rehearsal").is_displayed())
        assert stored(slug) == 0 and stored(rehearsal) == 0
        # The show: a real signer at the same kiosk counts.
        assert driver.execute_async_script(SIGN, 0, 1, f"real.{slug}") == []
        assert eventually(lambda: stored(slug) == 1, timeout=30)
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-waiting") == "0")
    finally:
        driver.quit()
    assert eventually(lambda: json.loads(fetch(f"{ENV.tally}/v1/petitions/{slug}/count")[2])["total"] == 1, timeout=30)
    assert stored(rehearsal) == 0
