"""A judge server that misbehaves on cue, for the judge's fault tests: real sockets on loopback, HTTP written by hand
so it can break the protocol (a cut body, a garbage status line, a non-UTF-8 body, non-string content, a trickle)."""

import json
import re
import socket
import threading

GOOD = b'{"choices": [{"message": {"role": "assistant", "content": "yes"}}]}'
BROKEN = {
    # connection closed mid-response: the headers promise 200 bytes, 6 arrive
    "cut": b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"choi',
    "garbage": b"HELLO THERE\r\n\r\n",  # not an HTTP status line
    "latin1": b'{"choices": [{"message": {"content": "\xff\xfe yes"}}]}',  # a body that is not UTF-8
    "int": b'{"choices": [{"message": {"content": 5}}]}',  # content that is not a string
    "html": b"<html>502 Bad Gateway</html>",  # a proxy's page instead of JSON
}


def _response(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


class JudgeServer:
    """Answers yes to every question, except that the student answers in `plans` get the listed behaviours first,
    one per request: a key of BROKEN, "trickle-head" or "trickle-body" (a byte every `pace` seconds, forever).
    `default(n)` picks the behaviour of the n-th request that has no plan (default: always "yes")."""

    def __init__(self, pace: float = 2.0, default=lambda n: "yes"):
        self.pace, self.plans, self.requests, self.stop = pace, {}, [], threading.Event()
        self.default = default
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1)) if b"Content-Length" in head else 0
            while len(body) < length:
                body += conn.recv(65536)
            if head.startswith(b"GET"):
                conn.sendall(_response(b'{"data": [{"id": "m"}]}'))
                return
            answer = json.loads(body)["messages"][-1]["content"].split("Student's final answer:\n")[1].split("\n")[0]
            self.requests.append(answer)
            plan = self.plans.get(answer, [])
            behaviour = plan.pop(0) if plan else self.default(len(self.requests))
            try:
                if behaviour == "yes":
                    conn.sendall(_response(GOOD))
                elif behaviour in ("cut", "garbage"):
                    conn.sendall(BROKEN[behaviour])
                elif behaviour in BROKEN:
                    conn.sendall(_response(BROKEN[behaviour]))
                else:  # a trickle: the status line, then one byte per `pace` in the headers or in the body
                    conn.sendall(b"HTTP/1.1 200 OK\r\n" if behaviour == "trickle-head" else _response(GOOD)[:-10])
                    while not self.stop.wait(self.pace):
                        conn.sendall(b"X")
            except OSError:
                pass  # the client hung up: what a deadline does

    def close(self):
        self.stop.set()
        self.sock.close()
