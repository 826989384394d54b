"""A local stand-in for the offices a petition is delivered to, started by scripts/up.

  * a webhook receiver on 127.0.0.1:HTTP_PORT: checks X-Undersigned-Signature with the target's secret
    (read from SECRET_FILE on each call, written by scripts/up), and saves each delivery's parts under
    INBOX/webhook/delivery-<id>/ (manifest.json, signatures.csv, cover-letter.html, verified.txt);
  * an SMTP relay on 127.0.0.1:SMTP_PORT that insists on STARTTLS and AUTH (user/password from the
    environment) like a real relay, and saves each message as INBOX/mail/<n>.eml.

    python inbox.py INBOX HTTP_PORT SMTP_PORT CERT KEY SECRET_FILE     (SMTP_USER, SMTP_PASSWORD)
"""
import email
import email.policy
import hashlib
import hmac
import http.server
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

inbox, http_port, smtp_port, cert, key, secret_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
os.makedirs(f"{inbox}/webhook", exist_ok=True)
os.makedirs(f"{inbox}/mail", exist_ok=True)


def verify(secret, timestamp, body, signature):
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature or "") and abs(time.time() - int(timestamp or 0)) < 300


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            secret = open(secret_file).read().strip()
        except OSError:
            secret = ""
        ok = verify(secret, self.headers.get("X-Undersigned-Timestamp"), body, self.headers.get("X-Undersigned-Signature"))
        if not ok:
            self.send_response(401)
            self.end_headers()
            return
        delivery = self.headers.get("X-Undersigned-Delivery", "unknown")
        folder = f"{inbox}/webhook/delivery-{delivery}"
        os.makedirs(folder, exist_ok=True)
        message = email.message_from_bytes(
            b"Content-Type: " + self.headers["content-type"].encode() + b"\r\n\r\n" + body, policy=email.policy.HTTP)
        for part in message.iter_parts():
            with open(f"{folder}/{part.get_filename()}", "wb") as out:
                out.write(part.get_payload(decode=True))
        with open(f"{folder}/verified.txt", "w") as out:
            out.write(f"signature verified; idempotency key {self.headers.get('Idempotency-Key')}\n")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        with open(f"{inbox}/mail/{int(time.time())}-{Sink.count}.eml", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        return "250 OK saved"


def authenticate(server, session, envelope, mechanism, auth_data):
    good = auth_data.login == os.environ.get("SMTP_USER", "").encode() and auth_data.password == os.environ.get("SMTP_PASSWORD", "").encode()
    return AuthResult(success=good)


tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)
controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port, tls_context=tls, require_starttls=True,
                        authenticator=authenticate, auth_require_tls=True)
controller.start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"inbox: webhook on {http_port}, SMTP on {smtp_port}, saving to {inbox}", flush=True)
threading.Event().wait()
