"""A DNS server for the offline test's namespace (127.0.0.1:53 inside it): it answers every query
NXDOMAIN at once and appends the name and type asked to a log file, one line each, so the test
can tell which names the processes tried to look up (and nothing waits for a resolver that is not
there). Run: python -m tests.offline.dns_logger LOGFILE (writes LOGFILE.ready when listening)."""
import socket
import struct
import sys
from pathlib import Path


def question(packet: bytes):
    """(name, qtype, end of the question) of a query, or None for a malformed one."""
    labels, offset = [], 12
    while offset < len(packet):
        length = packet[offset]
        offset += 1
        if length == 0:
            break
        if length > 63 or offset + length > len(packet):
            return None
        labels.append(packet[offset:offset + length].decode("ascii", "replace"))
        offset += length
    if offset + 4 > len(packet):
        return None
    qtype = struct.unpack("!H", packet[offset:offset + 2])[0]
    return ".".join(labels), qtype, offset + 4


def nxdomain(packet: bytes, end: int) -> bytes:
    ident, flags = struct.unpack("!HH", packet[:4])
    answer_flags = 0x8000 | (flags & 0x0100) | 0x0080 | 3  # response, RD copied, RA, NXDOMAIN
    return struct.pack("!HHHHHH", ident, answer_flags, 1, 0, 0, 0) + packet[12:end]


def main(log_path: str) -> None:
    log = Path(log_path)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    Path(f"{log_path}.ready").write_text("listening\n")
    while True:
        packet, client = server.recvfrom(4096)
        if len(packet) < 17:
            continue
        parsed = question(packet)
        if parsed is None:
            continue
        name, qtype, end = parsed
        with log.open("a", encoding="utf-8") as out:
            out.write(f"{name} {qtype}\n")
        server.sendto(nxdomain(packet, end), client)


if __name__ == "__main__":
    main(sys.argv[1])
