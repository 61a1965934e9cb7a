"""Loaded by every Python process of the offline test's inner run (tests/offline/inner_plugin.py
puts this folder first on PYTHONPATH): an audit hook writes one JSON line to
$PARLEY_NET_AUDIT_DIR/<pid>.jsonl for each socket connect, sendto or name look-up that is not for
a loopback address, with the process' command line and where in Python it came from. It only
records; the namespace refuses the connection anyway. Test material, never loaded by the product."""
import json
import os
import sys

_folder = os.environ.get("PARLEY_NET_AUDIT_DIR")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _loopback(host) -> bool:
    if host is None or host == "":
        return True  # getaddrinfo(None, port): a local wildcard address
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").lower()
    return (host in _LOOPBACK_NAMES or host.startswith("127.") or host in ("::1", "0.0.0.0", "::")
            or host.startswith("::ffff:127."))


def _hook(event, args):
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if not isinstance(address, tuple):  # AF_UNIX path or similar: not the network
            return
        host = address[0]
    elif event in ("socket.gethostbyname", "socket.gethostbyaddr"):
        host = args[0]
    else:
        return
    if _loopback(host):
        return
    try:
        import traceback

        stack = traceback.format_stack(sys._getframe(1), limit=12)
        record = {"pid": os.getpid(), "argv": sys.argv[:6], "event": event, "host": str(host),
                  "stack": [line.strip() for line in stack]}
        with open(os.path.join(_folder, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    except Exception:
        pass


if _folder and os.path.isdir(_folder):
    sys.addaudithook(_hook)
