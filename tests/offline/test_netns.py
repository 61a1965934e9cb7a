"""Nothing leaves the machine: the end-to-end conversations (typed, a pasted screenshot, a voice
note) pass inside a network namespace that has nothing but loopback.

The perception service, the action server and Rasa (embedded defaults: SQLite tracker store,
in-memory lock store; no PostgreSQL, no Redis) are started inside the namespace by an inner pytest
run of tests/e2e (`ip netns exec NS python -m pytest ...`): its session fixtures start them, and
its client talks to them inside the namespace too. The model is the one scripts/train.sh keeps in
models/ (trained inside the namespace when missing: training needs nothing from the network).

While the inner run goes on, every process in the namespace (`ip netns pids`) is looked at: each
perception, action server and Rasa process must have RASA_TELEMETRY_ENABLED=false in its
environment (/proc/PID/environ). The namespace's own IP counters (OutNoRoutes, IPv4 and IPv6,
/proc/net/snmp*) count every connect or datagram towards a non-loopback address, DNS look-ups
included (the resolver in /etc/resolv.conf is not on loopback): they must stay at zero. Every
Python process of the inner run also records, with an audit hook (tests/offline/nethook), each
non-loopback connect and name look-up with its command line and Python stack, so a failure says
which process tried what. The namespace's resolver is a logger on its own loopback
(tests/offline/dns_logger.py, /etc/netns/NS/resolv.conf): every name looked up is listed, also
the ones asked from native code (uvloop, Chromium) that the audit hook cannot see.

The pictures of the screenshot test are drawn by Chromium (tests/e2e/multimodal_material.py)
before, outside the namespace: test material, not the product.

Needs root (CAP_SYS_ADMIN) for `ip netns add`: without it the test fails and says so (a test
that skipped would let a machine where nothing was checked pass).
"""
import json
import os
import shutil
import sys
import subprocess
import time
from pathlib import Path
from typing import Dict

import pytest

from tests import services

INNER_TESTS = [
    "tests/e2e/test_conversations.py::test_order_status_after_identity_check",
    "tests/e2e/test_multimodal.py::test_pasted_screenshot_is_answered_with_its_fix",
    "tests/e2e/test_multimodal.py::test_voice_note_is_answered_like_the_same_words_typed",
]
KINDS = {"perception": ["-m", "perception"], "actions": ["-m", "rasa_sdk"], "rasa": ["rasa_extensions", "run"]}
INNER_TIMEOUT = 3600  # perception and Rasa start-ups, training only if models/ lacks the model


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=60, check=check)


@pytest.fixture(scope="module")
def namespace():
    if shutil.which("ip") is None:
        pytest.fail("the `ip` command is missing: apt-get install iproute2 (scripts/system_packages.sh)")
    name = f"parley-offline-{os.getpid()}"
    added = ip("netns", "add", name, check=False)
    if added.returncode != 0:
        pytest.fail(f"cannot create a network namespace ({added.stderr.strip()}): this test needs root "
                    "or CAP_SYS_ADMIN; run the tests as root (sudo make test)")
    etc = Path("/etc/netns") / name  # `ip netns exec` mounts this resolv.conf over /etc/resolv.conf
    try:
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        shutil.rmtree(etc, ignore_errors=True)
        for pid in ip("netns", "pids", name, check=False).stdout.split():  # only ours live there
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "delete", name, check=False)


def links(name: str) -> list:
    return [line.split(":")[1].strip() for line in
            ip("netns", "exec", name, "ip", "-o", "link").stdout.splitlines()]


def no_route_counters(name: str) -> Dict[str, int]:
    """IpOutNoRoutes and Ip6OutNoRoutes of the namespace (a failed non-loopback connect or send)."""
    snmp = ip("netns", "exec", name, "cat", "/proc/net/snmp").stdout.splitlines()
    header, values = next((h.split(), v.split()) for h, v in zip(snmp, snmp[1:])
                          if h.startswith("Ip: ") and v.startswith("Ip: "))
    counters = {"IpOutNoRoutes": int(values[header.index("OutNoRoutes")])}
    for line in ip("netns", "exec", name, "cat", "/proc/net/snmp6").stdout.splitlines():
        key, _, value = line.partition(" ")
        if key == "Ip6OutNoRoutes":
            counters[key] = int(value.strip())
    return counters


def kind_of(cmdline: list) -> str:
    for kind, words in KINDS.items():
        if any(cmdline[i:i + len(words)] == words or
               (kind == "rasa" and cmdline[i].endswith("/rasa") and cmdline[i + 1:i + 2] == ["run"])
               for i in range(len(cmdline))):
            return kind
    return ""


def environ(pid: str) -> Dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.fixture
def dns_log(namespace, tmp_path):
    """The names looked up inside the namespace (a list filled while the test runs)."""
    log = tmp_path / "dns.log"
    server = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.offline.dns_logger",
                               str(log)], cwd=services.ROOT, env=services.base_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=services.die_with_parent())
    deadline = time.monotonic() + 30
    while not Path(f"{log}.ready").exists():
        assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    yield log
    server.kill()
    server.wait()


@pytest.fixture
def pictures_outside(tmp_path):
    folder = tmp_path / "pictures"
    tool = services.ROOT / "tests" / "e2e" / "multimodal_material.py"
    made = subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), str(tool), str(folder)],
                          capture_output=True, text=True, timeout=600, env=services.base_env())
    assert made.returncode == 0, made.stderr[-3000:]
    return folder


def test_conversations_pass_with_only_loopback(namespace, dns_log, pictures_outside, tmp_path):
    assert links(namespace) == ["lo"], "the namespace must have loopback only"
    before = no_route_counters(namespace)
    audit = tmp_path / "net-audit"
    audit.mkdir()
    hook = Path(__file__).resolve().parent / "nethook"
    env = services.base_env(PARLEY_TEST_ARTIFACTS=str(tmp_path / "artifacts"), PARLEY_NET_AUDIT_DIR=str(audit),
                            PARLEY_OFFLINE_PICTURES=str(pictures_outside))
    env["PYTHONPATH"] = f"{hook}{os.pathsep}{env['PYTHONPATH']}"
    inner_log = tmp_path / "inner.log"
    command = ["ip", "netns", "exec", namespace, str(services.VENV_DIALOGUE / "bin" / "python"), "-m",
               "pytest", "-p", "no:cacheprovider", "-p", "tests.offline.inner_plugin", "-q", "-x",
               "--basetemp", str(tmp_path / "inner"), *INNER_TESTS]
    seen: Dict[str, Dict[str, str]] = {}  # kind -> environment of one of its processes
    with inner_log.open("wb") as log:
        inner = subprocess.Popen(command, cwd=services.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 preexec_fn=services.die_with_parent())
        deadline = time.monotonic() + INNER_TIMEOUT
        while inner.poll() is None and time.monotonic() < deadline:
            for pid in ip("netns", "pids", namespace, check=False).stdout.split():
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
                    kind = kind_of(cmdline)
                    if kind and kind not in seen:
                        seen[kind] = environ(pid)
                except (OSError, IndexError):
                    pass  # it ended meanwhile
            time.sleep(2)
        if inner.poll() is None:
            inner.kill()
            inner.wait()
    output = inner_log.read_text(errors="replace")
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (services.ARTIFACTS / "offline-netns.log").write_text(output)
    assert inner.returncode == 0, output[-5000:]
    assert f"{len(INNER_TESTS)} passed" in output, output[-3000:]

    assert sorted(seen) == sorted(KINDS), f"processes seen in the namespace: {sorted(seen)}"
    for kind, process_env in seen.items():
        assert process_env.get("RASA_TELEMETRY_ENABLED") == "false", f"{kind} runs with telemetry on"
    assert links(namespace) == ["lo"]
    after = no_route_counters(namespace)
    attempts = {key: after[key] - before.get(key, 0) for key in after}
    tried = attempts_recorded(audit)
    names = sorted(set(dns_log.read_text().split("\n")) - {""}) if dns_log.exists() else []
    assert not any(attempts.values()) and not tried and not names, (
        f"connections towards non-loopback addresses were tried: {attempts}; names looked up: "
        f"{names[:30]}; recorded in Python:\n" + "\n".join(tried[:20]))


def attempts_recorded(folder: Path) -> list:
    """One line per (command, event, host) the audit hook recorded, with the innermost frames."""
    seen = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            record = json.loads(line)
            key = (" ".join(record["argv"][:4]), record["event"], record["host"])
            seen.setdefault(key, [0, record["stack"][-4:]])[0] += 1
    return [f"{count}x {command}: {event} {host} <- {' | '.join(stack)}"
            for (command, event, host), (count, stack) in seen.items()]
