"""The running suite the partner tests talk to, from the environment scripts/api-check sets."""
import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid


class Env:
    bin = os.environ.get("UNDERSIGNED_CTL", "undersigned")
    petition = os.environ.get("UNDERSIGNED_TEST_PETITION", "digital-peace-now")
    intake = os.environ.get("UNDERSIGNED_TEST_INTAKE_URL", "http://127.0.0.1:8080")
    tally = os.environ.get("UNDERSIGNED_TEST_TALLY_URL", "http://127.0.0.1:8081")
    local = os.environ.get("UNDERSIGNED_LOCAL", ".local")
    batch_max_rows = os.environ.get("UNDERSIGNED_PARTNER_BATCH_MAX_ROWS", "100000")
    batch_max_mib = os.environ.get("UNDERSIGNED_PARTNER_BATCH_MAX_MIB", "64")
    database = os.environ.get("UNDERSIGNED_DATABASE_URL", "postgresql://undersigned@127.0.0.1:5432/undersigned")


ENV = Env()


def count():
    with urllib.request.urlopen(f"{ENV.tally}/v1/petitions/{ENV.petition}/count", timeout=10) as response:
        return json.load(response)["total"]


def fetch(url, method="GET", headers=None, data=None):
    """(status, headers, body) of one HTTP request; an error status is an answer like any other."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def eventually(check, timeout=60, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def running_service(name):
    """The pid, executable and environment of instance 1 of service `name` as scripts/up started it, so a
    test can start another one the same way."""
    pid = int(open(f"{ENV.local}/run/{name}-1.pid").read())
    environ = dict(item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
    return pid, os.readlink(f"/proc/{pid}/exe"), environ


def ops_url(name):
    """Where instance 1 of service `name` answers /health/* and /metrics (its ops port, never its public one)."""
    _, _, environ = running_service(name)
    return f"http://127.0.0.1:{environ[f'UNDERSIGNED_{name.upper()}_OPS_PORT']}"


def ready(url):
    """Whether the service whose ops port is at `url` says it is ready (False while it is not listening)."""
    try:
        return fetch(f"{url}/health/ready")[0] == 200
    except OSError:
        return False


def free_port():
    """A TCP port nothing listens on now, for one more service instance a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ctl(*args):
    """The ops CLI's output (it must succeed)."""
    return subprocess.run([ENV.bin, *args], check=True, capture_output=True, text=True).stdout


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_petition(prefix, *options, title="The stage call"):
    """A new petition (unique slug starting with `prefix`), made with `petition create` and `options`."""
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ctl("petition", "create", slug, "--title", title, *options)
    return slug


def psql(sql):
    """Rows as `a|b` lines."""
    out = subprocess.run(["psql", ENV.database, "-AtX", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def add_partner(prefix):
    """A new partner account (unique name), its credentials as `partner add --json` prints them."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    out = subprocess.run([ENV.bin, "partner", "add", name, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def counted(partner):
    """A partner's signatures that tally has counted."""
    return int(psql(f"SELECT count(*) FROM signatures s JOIN tally_counted t ON t.signature_id = s.id "
                    f"WHERE s.partner = '{partner['user']}'")[0])


def management(method, path, body=None, auth=None, answer=None):
    """RabbitMQ's management API as scripts/api-check's administrator (or `auth`); the status, and the
    JSON body into `answer` (a list) when given."""
    base = os.environ["UNDERSIGNED_RABBITMQ_MANAGEMENT_URL"]
    credentials, host = base.split("://", 1)[1].split("@", 1)
    request = urllib.request.Request(f"http://{host}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json",
                                              "authorization": "Basic " + base64.b64encode((auth or credentials).encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            if answer is not None:
                answer.append(json.load(response))
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
