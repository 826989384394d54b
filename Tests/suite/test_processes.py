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
