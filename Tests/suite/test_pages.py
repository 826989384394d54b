"""The signer's front door in a real browser (Debian's Chromium and chromedriver, Selenium, axe-core):
the stage page's QR code read by zbarimg and followed at a phone's size, signing with JavaScript on and
off in French and Arabic, errors next to their fields, a retry after a network failure counted once,
axe-core on every page, the page's weight and caching headers."""
import gzip
import json
import os
import subprocess
import tempfile
import time
import uuid

import axe_playwright_python
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ENV, count, eventually, fetch, psql

PHONE = (412, 915)
SCREEN = (1600, 900)
LANGUAGES = ["en", "fr", "de", "es", "pt", "ar"]


def browser(javascript=True, language="en-US", size=PHONE):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={size[0]},{size[1]}", f"--lang={language}"):
        options.add_argument(argument)
    prefs = {"intl.accept_languages": language}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def drivers():
    opened = []

    def make(**kwargs):
        driver = browser(**kwargs)
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.quit()


# axe-core 4.12 as axe-playwright-python ships it (axe-selenium-python's is 3.1, without WCAG 2.1/2.2 rules).
AXE = open(os.path.join(os.path.dirname(axe_playwright_python.__file__), "axe.min.js"), encoding="utf-8").read()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def violations(driver):
    """axe-core's violations of WCAG 2.2 A and AA (and its best practices) on the page as it is now."""
    driver.set_script_timeout(60)
    driver.execute_script(AXE)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(done, e => done({error: String(e)}));", AXE_TAGS)
    assert "error" not in found, found
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found["violations"]]


def settled_count(expected, timeout=60):
    """Waits until the count is `expected` and stays there for two seconds (no extra signature arrives late)."""
    assert eventually(lambda: count() >= expected, timeout=timeout), f"count stayed at {count()}, expected {expected}"
    time.sleep(2)
    return count()


def fill(driver, name, email, country, postal=""):
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "email").send_keys(email)
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.ID, "country")).select_by_value(country)
    if postal:
        driver.find_element(By.ID, "postal_code").send_keys(postal)


def stage_qr(language="en"):
    """The URL the stage page's QR code carries, read by zbarimg from a screenshot at big-screen size."""
    driver = browser(language=language, size=SCREEN)
    try:
        driver.get(f"{ENV.tally}/live/{ENV.petition}?screen=main&mode=poll")
        WebDriverWait(driver, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, ".join svg"))
        with tempfile.TemporaryDirectory() as folder:
            shot = os.path.join(folder, "stage.png")
            driver.save_screenshot(shot)
            out = subprocess.run(["zbarimg", "-q", "--raw", "--nodbus", "-Sdisable", "-Sqrcode.enable", shot],
                                 capture_output=True, text=True)
        return out.stdout.strip(), driver.find_element(By.CSS_SELECTOR, ".join").text
    finally:
        driver.quit()


def stored(email_like):
    return psql("SELECT s.source, s.language, t.language FROM signatures s LEFT JOIN petition_texts t ON t.id = s.text_id "
                f"WHERE s.name = '{email_like}'")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_stage_qr_code_leads_a_phone_to_sign_in_french_and_the_count_goes_up_by_one(drivers, javascript):
    url, text = stage_qr()
    assert url.endswith("/s/peace?source=screen:main") and url.startswith("http"), url
    assert "/s/peace" in text
    before = count()
    phone = drivers(javascript=javascript, language="fr-FR,fr")
    phone.get(url)
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert phone.find_element(By.TAG_NAME, "h1").text == "La paix numérique, maintenant"
    name = f"Scanneur {uuid.uuid4().hex[:8]}"
    assert phone.find_element(By.ID, "country").get_attribute("value") == "FR", "the country comes from Accept-Language"
    fill(phone, name, f"{name.split()[1]}@example.org", "FR")
    phone.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(phone, 30).until(lambda d: "Merci" in d.find_element(By.TAG_NAME, "body").text)
    assert settled_count(before + 1) == before + 1
    assert stored(name) == ["screen:main|fr|fr"], "source, language and the French text version are recorded"


def test_signing_in_arabic_right_to_left_with_javascript(drivers):
    before = count()
    phone = drivers(language="ar")
    phone.get(f"{ENV.intake}/s/peace")
    html = phone.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("lang") == "ar" and html.get_attribute("dir") == "rtl"
    name = f"Amal {uuid.uuid4().hex[:8]}"
    fill(phone, name, f"amal.{uuid.uuid4().hex[:8]}@example.org", "EG")
    phone.find_element(By.ID, "contact_opt_in").click()
    phone.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(phone, 30).until(lambda d: d.find_elements(By.ID, "thanks-heading"))
    assert phone.switch_to.active_element.get_attribute("id") == "thanks-heading", "focus moves to the thank-you"
    assert settled_count(before + 1) == before + 1
    assert stored(name) == ["web|ar|ar"]


def test_a_bad_email_shows_its_error_next_to_the_field_with_and_without_javascript(drivers):
    french = json.load(open("Shared/Pages/Catalogues/fr.json", encoding="utf-8"))
    before = count()
    # With JavaScript: checked when the field is left; nothing is sent.
    phone = drivers(language="fr")
    phone.get(f"{ENV.intake}/s/peace")
    email = phone.find_element(By.ID, "email")
    email.send_keys("jane@nowhere")
    phone.find_element(By.ID, "name").click()
    error = phone.find_element(By.ID, "email-error")
    assert error.text == french["error_email_invalid"]
    assert email.get_attribute("aria-invalid") == "true" and "email-error" in email.get_attribute("aria-describedby")
    fill(phone, "Jane Nowhere", "", "FR")
    phone.find_element(By.CSS_SELECTOR, "form button").click()
    assert phone.switch_to.active_element.get_attribute("id") == "email", "focus goes to the field to mend"
    # Without JavaScript: the server answers 422 with the form again, the errors beside their fields.
    plain = drivers(javascript=False, language="fr")
    plain.get(f"{ENV.intake}/s/peace")
    fill(plain, "Jane Nowhere", "jane@nowhere", "FR")
    plain.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(plain, 15).until(lambda d: d.find_elements(By.ID, "summary"))
    assert plain.find_element(By.ID, "email-error").text == french["error_email_invalid"]
    assert plain.find_element(By.ID, "email").get_attribute("value") == "jane@nowhere", "what was typed is kept"
    assert plain.find_element(By.ID, "name").get_attribute("value") == "Jane Nowhere"
    # axe-core needs a browser that runs scripts: the same form post, sent past the page's own script.
    checker = drivers(language="fr")
    checker.get(f"{ENV.intake}/s/peace")
    fill(checker, "Jane Nowhere", "jane@nowhere", "FR")
    checker.execute_script("document.getElementById('form').submit()")
    WebDriverWait(checker, 15).until(lambda d: d.find_elements(By.ID, "summary"))
    assert violations(checker) == [], "the error state is accessible"
    time.sleep(2)
    assert count() == before, "a refused form counts nothing"
    status, headers, body = fetch(f"{ENV.intake}/p/{ENV.petition}?lang=fr", "POST",
                                  {"content-type": "application/x-www-form-urlencoded"}, b"name=J&email=bad&country=FR")
    assert status == 422 and headers["Content-Type"].startswith("text/html") and french["error_email_invalid"].encode() in body
    assert headers["Cache-Control"] == "no-store"


def test_a_signature_sent_while_offline_is_retried_with_the_same_id_and_counted_once(drivers):
    before = count()
    phone = drivers(language="en")
    phone.get(f"{ENV.intake}/s/peace")
    name = f"Offline {uuid.uuid4().hex[:8]}"
    fill(phone, name, f"offline.{uuid.uuid4().hex[:8]}@example.org", "KE")
    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    phone.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(phone, 15).until(lambda d: "No connection" in d.find_element(By.ID, "status").text)
    phone.find_element(By.CSS_SELECTOR, "form button").click()  # a second tap while it waits changes nothing
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    WebDriverWait(phone, 60).until(lambda d: d.find_elements(By.ID, "thanks-heading"))
    assert settled_count(before + 1) == before + 1
    assert len(stored(name)) == 1


def test_a_client_chosen_submission_id_is_counted_once_and_never_overwrites_moves_or_doubles_a_signature():
    client_id = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:8]

    def post(email, name, slug=ENV.petition):
        body = json.dumps({"submission_id": client_id, "name": name, "email": email, "country": "DE"}).encode()
        return fetch(f"{ENV.intake}/v1/petitions/{slug}/signatures", "POST", {"content-type": "application/json"}, body)

    before = count()
    # The page's retry after a lost answer: the same id and the same signature, twice.
    for _ in range(2):
        status, _, body = post(f"first.{tag}@example.org", f"First {tag}")
        assert status == 202 and json.loads(body)["submission_id"] == client_id
    assert settled_count(before + 1) == before + 1
    # The same id with another person's data: a signature of its own, the first one untouched.
    status, _, _ = post(f"second.{tag}@example.org", f"Second {tag}")
    assert status == 202
    assert settled_count(before + 2) == before + 2
    rows = psql(f"SELECT name, submission_id FROM signatures WHERE name IN ('First {tag}', 'Second {tag}') ORDER BY id")
    assert [row.split("|")[0] for row in rows] == [f"First {tag}", f"Second {tag}"]
    assert len({row.split("|")[1] for row in rows}) == 2, "the two are stored under different ids"
    # The same id and the first person's data for another petition: counted there, not moved.
    other = f"other-{tag}"
    subprocess.run([ENV.bin, "petition", "create", other, "--title", "Other"], check=True, capture_output=True)
    status, _, _ = post(f"first.{tag}@example.org", f"First {tag}", slug=other)
    assert status == 202
    assert eventually(lambda: len(psql(f"SELECT 1 FROM signatures s JOIN petitions p ON p.id = s.petition_id "
                                       f"WHERE p.slug = '{other}' AND s.name = 'First {tag}'")) == 1)
    assert psql(f"SELECT p.slug FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE s.name = 'First {tag}' ORDER BY s.id") \
        == [ENV.petition, other]
    assert count() == before + 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_signing_page_has_no_accessibility_violations(drivers, language):
    phone = drivers(language=language)
    phone.get(f"{ENV.intake}/s/peace?lang={language}")
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
    assert violations(phone) == []
    # Keyboard only: the skip link, then the fields in order.
    body = phone.find_element(By.TAG_NAME, "body")
    body.send_keys("\ue004")  # Tab
    assert phone.switch_to.active_element.get_attribute("class") == "skip"


def test_the_thank_you_page_and_the_stage_page_have_no_accessibility_violations(drivers):
    # The thank-you page a form post answers with (sent past the page's script, which axe-core needs on).
    page = drivers(language="de")
    page.get(f"{ENV.intake}/s/peace")
    fill(page, f"Axe {uuid.uuid4().hex[:6]}", f"axe.{uuid.uuid4().hex[:8]}@example.org", "DE")
    page.execute_script("document.getElementById('form').submit()")
    WebDriverWait(page, 30).until(lambda d: "Danke" in d.find_element(By.TAG_NAME, "body").text)
    assert violations(page) == []
    # The thank-you the script shows in place of the form.
    page.get(f"{ENV.intake}/s/peace?lang=ar")
    fill(page, f"Axe {uuid.uuid4().hex[:6]}", f"axe.{uuid.uuid4().hex[:8]}@example.org", "MA")
    page.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(page, 30).until(lambda d: d.find_elements(By.ID, "thanks-heading"))
    assert violations(page) == []
    for language in ("en", "ar"):
        screen = drivers(language=language, size=SCREEN)
        screen.get(f"{ENV.tally}/live/{ENV.petition}?screen=main&mode=poll")
        WebDriverWait(screen, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, ".join svg"))
        assert violations(screen) == [], language


def test_the_stage_page_speaks_the_screens_language_and_honours_reduced_motion():
    french = json.load(open("Shared/Pages/Catalogues/fr.json", encoding="utf-8"))
    url, text = stage_qr(language="fr")
    assert french["stage_scan"] in text and url.endswith("/s/peace?source=screen:main"), text
    _, _, body = fetch(f"{ENV.tally}/live/{ENV.petition}?lang=es")
    assert b'<html lang="es"' in body and b"prefers-reduced-motion" in body


def test_the_page_fits_one_round_trip_is_cacheable_sets_no_cookie_and_loads_nothing_from_elsewhere(drivers):
    status, headers, body = fetch(f"{ENV.intake}/s/peace?source=screen:main", headers={"Accept-Encoding": "gzip", "Accept-Language": "ar"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert len(body) <= 14 * 1024, f"{len(body)} bytes compressed"
    assert b"<!doctype html>" in gzip.decompress(body)
    cache = headers["Cache-Control"]
    assert "public" in cache and "stale-while-revalidate" in cache and headers["ETag"]
    assert "Set-Cookie" not in headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src 'sha256-" in csp
    status, _, _ = fetch(f"{ENV.intake}/s/peace?source=screen:main", headers={"Accept-Language": "ar", "If-None-Match": headers["ETag"]})
    assert status == 304
    phone = drivers()
    phone.get(f"{ENV.intake}/s/peace")
    origins = phone.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert all(origin == ENV.intake for origin in origins), origins
    assert phone.get_cookies() == []


def test_closed_and_unknown_petitions_get_a_page_that_says_so():
    slug = f"closed-{uuid.uuid4().hex[:6]}"
    subprocess.run([ENV.bin, "petition", "create", slug, "--title", "Closed one"], check=True, capture_output=True)
    subprocess.run([ENV.bin, "petition", "close", slug], check=True, capture_output=True)
    french = json.load(open("Shared/Pages/Catalogues/fr.json", encoding="utf-8"))
    assert eventually(lambda: fetch(f"{ENV.intake}/p/{slug}?lang=fr")[0] == 410, timeout=15)
    status, headers, body = fetch(f"{ENV.intake}/p/{slug}?lang=fr")
    assert headers["Content-Type"].startswith("text/html") and french["closed_title"].encode() in body
    status, headers, body = fetch(f"{ENV.intake}/s/zzzzzz", headers={"Accept-Language": "fr"})
    assert status == 404 and french["unknown_title"].encode() in body
    status, _, body = fetch(f"{ENV.intake}/p/{slug}", "POST", {"content-type": "application/x-www-form-urlencoded"},
                            b"name=A&email=a%40example.org&country=FR")
    assert status == 410 and b"<html" in body


def test_a_form_from_another_site_is_refused():
    status, _, _ = fetch(f"{ENV.intake}/p/{ENV.petition}", "POST",
                         {"content-type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
                         b"name=Csrf&email=csrf%40example.org&country=FR")
    assert status == 403
    api = f"{ENV.intake}/v1/petitions/{ENV.petition}/signatures"
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert fetch(api, "POST", {**form, "Origin": "https://evil.example"}, b"name=Csrf&email=csrf2%40example.org&country=FR")[0] == 403
    assert fetch(api, "POST", {**form, "Origin": "null"}, b"name=Csrf&email=csrf3%40example.org&country=FR")[0] == 403
    # The campaign's own site (a configured CORS origin) may host a form that posts here.
    tag = uuid.uuid4().hex[:8]
    assert fetch(api, "POST", {**form, "Origin": "https://peace.example"}, f"name=Site&email=site.{tag}%40example.org&country=FR".encode())[0] == 202


def test_ops_see_signatures_per_source():
    tag = uuid.uuid4().hex[:8]
    body = json.dumps({"name": f"Source {tag}", "email": f"source.{tag}@example.org", "country": "NL", "source": "screen:ops"}).encode()
    assert fetch(f"{ENV.intake}/v1/petitions/{ENV.petition}/signatures", "POST", {"content-type": "application/json"}, body)[0] == 202
    assert eventually(lambda: len(psql(f"SELECT 1 FROM signatures WHERE name = 'Source {tag}'")) == 1)
    out = subprocess.run([ENV.bin, "sources", ENV.petition, "--json"], check=True, capture_output=True, text=True).stdout
    sources = {row["source"]: row["signatures"] for row in json.loads(out)["sources"]}
    assert sources.get("screen:ops", 0) >= 1 and sources.get("web", 0) >= 1
    token = os.environ["UNDERSIGNED_ADMIN_TOKEN"]
    status, _, body = fetch(f"{ENV.intake}/v1/ops/petitions/{ENV.petition}/sources", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and {row["source"]: row["signatures"] for row in json.loads(body)["sources"]} == sources
    assert fetch(f"{ENV.intake}/v1/ops/petitions/{ENV.petition}/sources")[0] in (401, 403), "the admin token is needed"


def test_signing_with_the_keyboard_alone(drivers):
    """Tab to each field, type, Space on the opt-in, Enter to sign: no mouse anywhere."""
    from selenium.webdriver.common.keys import Keys
    before = count()
    phone = drivers(language="es")
    phone.get(f"{ENV.intake}/s/peace")
    tag = uuid.uuid4().hex[:8]

    def tab_to(element_id, limit=40):
        for _ in range(limit):
            phone.switch_to.active_element.send_keys(Keys.TAB)
            if phone.switch_to.active_element.get_attribute("id") == element_id:
                return phone.switch_to.active_element
        raise AssertionError(f"#{element_id} cannot be reached with Tab")
    tab_to("name").send_keys(f"Teclado {tag}")
    tab_to("email").send_keys(f"teclado.{tag}@example.org")
    tab_to("country").send_keys("Esp")  # typing selects in a focused <select>
    assert phone.find_element(By.ID, "country").get_attribute("value") == "ES"
    tab_to("contact_opt_in").send_keys(Keys.SPACE)
    assert phone.find_element(By.ID, "contact_opt_in").is_selected()
    phone.switch_to.active_element.send_keys(Keys.TAB)
    assert phone.switch_to.active_element.tag_name == "button", "the button comes after the opt-in"
    outline = phone.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "focus is visible"
    phone.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(phone, 30).until(lambda d: d.find_elements(By.ID, "thanks-heading"))
    assert settled_count(before + 1) == before + 1


@pytest.mark.parametrize("language", ["de", "ar"])
def test_the_page_reflows_at_320_css_pixels_like_a_400_percent_zoom(drivers, language):
    """WCAG 1.4.10: content at 320 CSS pixels wide (a 1280 px screen at 400%, a phone at 200%) needs no
    sideways scrolling and loses nothing."""
    phone = drivers(language=language, size=(320, 800))
    phone.get(f"{ENV.intake}/s/peace?lang={language}")
    width = phone.execute_script("return document.documentElement.clientWidth")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= width
    for element_id in ("name", "email", "country", "postal_code", "contact_opt_in"):
        box = phone.execute_script("const r = document.getElementById(arguments[0]).getBoundingClientRect(); return [r.left, r.right]", element_id)
        assert 0 <= box[0] and box[1] <= width, f"#{element_id} is cut off: {box}"
    button = phone.find_element(By.CSS_SELECTOR, "form button")
    assert button.is_displayed() and button.size["width"] <= width
