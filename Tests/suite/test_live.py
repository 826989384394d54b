"""The count a screen sees never goes backwards: an SSE client follows a petition under load while the
tally instances it is connected to are killed with SIGKILL and started again; every count it is sent is at
least the one before, and the last one is every signature accepted."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

from conftest import ENV, eventually, fetch, free_port, ready, running_service
from test_delivery import gone




class Screen(threading.Thread):
    """An SSE client that reconnects (to the next tally, with Last-Event-ID) whenever its stream breaks,
    keeping every count it is sent."""

    def __init__(self, tallies, slug):
        super().__init__(daemon=True)
        self.tallies, self.slug, self.counts, self.stop, self.reconnects = tallies, slug, [], threading.Event(), 0

    def run(self):
        turn = 0
        while not self.stop.is_set():
            base = self.tallies[turn % len(self.tallies)]
            turn += 1
            headers = {"accept": "text/event-stream"}
            if self.counts:
                headers["last-event-id"] = str(self.counts[-1])
            try:
                request = urllib.request.Request(f"{base}/v1/petitions/{self.slug}/live", headers=headers)
                with urllib.request.urlopen(request, timeout=5) as stream:
                    for line in stream:
                        if self.stop.is_set():
                            return
                        if line.startswith(b"data: "):
                            self.counts.append(json.loads(line[6:])["total"])
            except (urllib.error.URLError, OSError, ValueError):
                pass
            self.reconnects += 1
            time.sleep(0.2)


class Signers(threading.Thread):
    def __init__(self, slug):
        super().__init__(daemon=True)
        self.slug, self.accepted, self.stop = slug, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            body = json.dumps({"name": "Screen Watcher", "email": f"watch.{uuid.uuid4().hex}@example.org", "country": "KE"}).encode()
            try:
                status = fetch(f"{ENV.intake}/v1/petitions/{self.slug}/signatures", method="POST",
                               headers={"content-type": "application/json"}, data=body)[0]
                self.accepted += status == 202
            except OSError:
                pass
            time.sleep(0.02)


def start(binary, environ, log):
    return subprocess.Popen([binary], env=environ, stdout=log, stderr=log, start_new_session=True)


def test_the_count_a_screen_sees_never_decreases_while_tally_instances_are_killed_and_restarted():
    slug = f"screen-{uuid.uuid4().hex[:8]}"
    subprocess.run([ENV.bin, "petition", "create", slug, "--title", "Never backwards"], check=True, capture_output=True)
    pid, binary, first = running_service("tally")
    port, ops = free_port(), free_port()
    second = {**first, "UNDERSIGNED_TALLY_PORT": str(port), "UNDERSIGNED_TALLY_OPS_PORT": str(ops), "UNDERSIGNED_TALLY_SHARD": "9",
              "UNDERSIGNED_INSTANCE": "tally-second"}
    log = open(f"{ENV.local}/logs/tally-second.log", "ab")
    other = start(binary, second, log)
    first_ops = f"http://127.0.0.1:{first['UNDERSIGNED_TALLY_OPS_PORT']}"
    try:
        assert eventually(lambda: ready(f"http://127.0.0.1:{ops}"), timeout=60)
        screen, signers = Screen([ENV.tally, f"http://127.0.0.1:{port}"], slug), Signers(slug)
        screen.start()
        signers.start()
        time.sleep(3)
        for _ in range(2):
            # The first instance (scripts/up's), then the second: killed, and started again the same way.
            os.kill(pid, signal.SIGKILL)
            assert eventually(lambda: gone(pid), timeout=60)
            time.sleep(1)
            restarted = start(binary, first, open(f"{ENV.local}/logs/tally-1.log", "ab"))
            pid = restarted.pid
            with open(f"{ENV.local}/run/tally-1.pid", "w") as pidfile:
                pidfile.write(str(pid))
            assert eventually(lambda: ready(first_ops), timeout=60)
            other.send_signal(signal.SIGKILL)
            other.wait(timeout=60)
            time.sleep(1)
            other = start(binary, second, log)
            assert eventually(lambda: ready(f"http://127.0.0.1:{ops}"), timeout=60)
            time.sleep(2)
        signers.stop.set()
        signers.join(timeout=30)
        assert eventually(lambda: screen.counts and screen.counts[-1] == signers.accepted, timeout=60), \
            (signers.accepted, screen.counts[-5:])
        screen.stop.set()
        assert screen.reconnects >= 2, "the screen's streams were broken by the kills"
        assert all(a <= b for a, b in zip(screen.counts, screen.counts[1:])), "a count went backwards"
        assert len(set(screen.counts)) >= 10, screen.counts
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait(timeout=60)
        assert eventually(lambda: ready(first_ops), timeout=60), "scripts/up's tally is back for the tests after this one"
