"""Secure defaults on the running suite: security headers on every answer and HTML pages, CORS only for
the configured origins (scripts/api-check sets UNDERSIGNED_CORS_ORIGINS=https://peace.example)."""
import base64
import hashlib
import re
import urllib.parse

from conftest import ENV, fetch


def test_html_pages_carry_a_strict_content_security_policy():
    status, headers, body = fetch(f"{ENV.tally}/live/{ENV.petition}")
    assert status == 200 and headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    script = re.search(rb"<script>(.*?)</script>", body, re.S).group(1)
    assert f"script-src 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    form = urllib.parse.urlencode({"name": "Form Signer", "email": "form.signer@example.org", "country": "SE"}).encode()
    status, headers, body = fetch(f"{ENV.intake}/v1/petitions/{ENV.petition}/signatures", "POST",
                                  {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}, form)
    assert status == 202 and b"<html" in body.lower()
    assert "script-src" not in headers["Content-Security-Policy"] and headers["Referrer-Policy"] == "no-referrer"


def test_cors_only_for_configured_origins():
    url = f"{ENV.intake}/v1/petitions/{ENV.petition}/signatures"
    preflight = {"Origin": "https://peace.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    status, headers, _ = fetch(url, "OPTIONS", preflight)
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "https://peace.example" and "POST" in headers["Access-Control-Allow-Methods"]
    status, headers, _ = fetch(url, "OPTIONS", {**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers and status >= 400
    status, headers, _ = fetch(f"{ENV.tally}/v1/petitions/{ENV.petition}/count", headers={"Origin": "https://peace.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://peace.example" and headers["Vary"] == "Origin"
    status, headers, _ = fetch(f"{ENV.tally}/v1/petitions/{ENV.petition}/count", headers={"Origin": "https://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
