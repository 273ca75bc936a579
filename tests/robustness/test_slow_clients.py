"""Slow clients cannot stall everyone else on the shipped web server: bodies are received before a request takes
a slot, a client that stalls is dropped with 408, a too-large upload gets a 413 page (not a reset)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from gunistack import Gunicorn, drop_database, get, make_database


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = make_database()
    srv = Gunicorn(
        tmp_path_factory.mktemp("slow"), url, ADMISSION_BODY_TIMEOUT_SECONDS="3", MAX_UPLOAD_MB="1"
    ).start()
    yield srv
    srv.stop()
    drop_database(url)


def multipart(size: int) -> tuple[bytes, str]:
    boundary = "----fcslowclient"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nLangsam\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + b"%" * (size - len(head) - len(tail)) + tail, f"multipart/form-data; boundary={boundary}"


def open_upload(port: int, body_size: int, path: str = "/login") -> tuple[socket.socket, bytes]:
    body, ctype = multipart(body_size)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
    )
    return s, body


def read_answer(s: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = [
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length and len(rest) >= length[0]:
                return data


def test_uploads_at_100_bytes_per_second_do_not_stall_other_clients(server):
    answers: list[bytes] = []
    errors: list[Exception] = []

    def trickle():
        try:
            s, body = open_upload(server.port, 1500, "/calls/new")  # 15 s at 100 B/s
            with s:
                for i in range(0, len(body), 10):
                    s.sendall(body[i : i + 10])
                    time.sleep(0.1)
                answers.append(read_answer(s))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    slow = [threading.Thread(target=trickle) for _ in range(8)]
    for t in slow:
        t.start()
    time.sleep(1)
    latencies = []
    while any(t.is_alive() for t in slow) and len(latencies) < 40:
        a = get(server.port, "/calls", timeout=30)
        assert a.status == 200, a.status
        latencies.append(a.seconds)
        time.sleep(0.2)
    for t in slow:
        t.join(60)
    assert not errors, errors
    assert len(latencies) >= 20, "the slow uploads ended before the others were measured"
    latencies.sort()
    assert latencies[len(latencies) // 2] < 1.0, latencies  # a stalled server: 15 s (the uploads)
    assert latencies[-1] < 5, latencies
    # the slow uploads were answered too (here: a form without its token is refused with a message)
    assert len(answers) == 8
    assert all(a.startswith(b"HTTP/1.1 400") and b"Das Formular war abgelaufen" in a for a in answers), [
        a[:20] for a in answers
    ]


def test_a_client_that_stalls_is_dropped_with_408(server):
    s, body = open_upload(server.port, 1500)
    with s:
        s.sendall(body[:100])
        t0 = time.monotonic()
        answer = read_answer(s)
        waited = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert "Die Übertragung hat zu lange gestockt".encode() in answer
    assert 2 < waited < 20, waited


def test_a_too_large_upload_gets_a_413_page_not_a_reset(server):
    s, body = open_upload(server.port, 3 * 1024 * 1024)  # MAX_UPLOAD_MB=1
    sender_error: list[Exception] = []

    def send():
        try:
            s.sendall(body)
        except OSError as exc:  # the server may stop reading once it answered
            sender_error.append(exc)

    t = threading.Thread(target=send)
    t.start()
    with s:
        answer = read_answer(s)
    t.join(30)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert "Die Datei ist zu groß".encode() in answer


def test_more_slow_uploads_than_a_process_takes_are_refused_at_once(tmp_path):
    """One process with few threads: the uploads past ADMISSION_MAX_UPLOADS get 503 + Retry-After at once, so
    threads stay free for everyone else."""
    url = make_database()
    srv = Gunicorn(tmp_path, url, WEB_WORKERS="1", WEB_THREADS="8", ADMISSION_MAX_UPLOADS="4").start()
    try:
        conns = []
        for _ in range(8):
            s, body = open_upload(srv.port, 1500, "/calls/new")
            s.sendall(body[:50])
            conns.append((s, body))
            time.sleep(0.1)
        time.sleep(1)
        refused = []
        for s, _body in conns:
            s.settimeout(0.5)
            try:
                answer = read_answer(s)
            except TimeoutError:
                continue  # still being received
            refused.append(answer)
            s.close()  # a client that got its answer stops sending (else gunicorn drains the body for up to 5 s)
        assert len(refused) == 4, [a[:40] for a in refused]
        assert all(a.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in a for a in refused)
        for _ in range(5):
            a = get(srv.port, "/calls", timeout=30)
            assert a.status == 200 and a.seconds < 5, (a.status, a.seconds)
        for s, _body in conns:
            s.close()
    finally:
        srv.stop()
        drop_database(url)
