"""The services as processes, the way a supervisor sees them: one that cannot start says why in one line
and exits with a status to act on, rather than crashing with a backtrace."""
import json
import subprocess
import urllib.parse

from conftest import ENV, running_service


def test_a_second_tally_on_a_port_in_use_exits_1_with_one_line_saying_why():
    _, binary, environ = running_service("tally")
    environ["UNDERSIGNED_TALLY_PORT"] = str(urllib.parse.urlsplit(ENV.intake).port)  # held by intake
    done = subprocess.run([binary], env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    last = lines[-1]
    assert last["level"] == "critical" and "Address already in use" in last["error"], last
    assert "Fatal error" not in done.stdout + done.stderr and "Thread 0" not in done.stdout + done.stderr


def test_a_configuration_problem_exits_78_naming_the_setting():
    _, binary, environ = running_service("tally")
    environ["UNDERSIGNED_TALLY_PORT"] = "not-a-port"
    done = subprocess.run([binary], env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78 and "UNDERSIGNED_TALLY_PORT" in done.stderr, (done.returncode, done.stderr)


def test_a_stopping_instance_says_it_is_not_ready_while_it_still_serves_and_then_exits_0():
    """SIGTERM (a pod being stopped): readiness fails at once (accepting_work false) so the load balancer takes
    the instance out, while its public port still answers for UNDERSIGNED_DRAIN_SECONDS; then it stops
    cleanly. Before this, readiness said ready until the process was gone."""
    import signal
    import time
    from conftest import eventually, fetch, free_port, ready
    _, binary, environ = running_service("tally")
    port, ops = free_port(), free_port()
    environ = {**environ, "UNDERSIGNED_TALLY_PORT": str(port), "UNDERSIGNED_TALLY_OPS_PORT": str(ops), "UNDERSIGNED_TALLY_SHARD": "6",
               "UNDERSIGNED_INSTANCE": "tally-draining", "UNDERSIGNED_DRAIN_SECONDS": "4"}
    log = open(f"{ENV.local}/logs/tally-draining.log", "ab")
    process = subprocess.Popen([binary], env=environ, stdout=log, stderr=log, start_new_session=True)
    try:
        assert eventually(lambda: ready(f"http://127.0.0.1:{ops}"), timeout=60), "the instance is ready"
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        status, _, body = fetch(f"http://127.0.0.1:{ops}/health/ready")
        assert status == 503 and json.loads(body)["checks"]["accepting_work"] is False, body
        assert fetch(f"http://127.0.0.1:{port}/v1/petitions/{ENV.petition}/count")[0] == 200, "still serving while it drains"
        assert time.monotonic() - stopped < 3
        assert process.wait(timeout=60) == 0
        assert time.monotonic() - stopped >= 4, "it stopped before its drain time was over"
    finally:
        if process.poll() is None:
            process.kill()
