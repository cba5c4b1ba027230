"""The galleries' readers-writer lock: searches side by side, a change alone, writers first."""

from __future__ import annotations

import threading

from padron.matching.locks import ReadWriteLock

WAIT = 10  # seconds: only reached when the behaviour under test is broken


def test_readers_hold_the_lock_together() -> None:
    lock = ReadWriteLock()
    both_inside = threading.Barrier(2, timeout=WAIT)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            with lock.read():
                both_inside.wait()  # breaks (BrokenBarrierError) unless the other reader is inside too
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert errors == [] and lock.readers == 0


def test_a_writer_waits_for_readers_and_holds_new_readers_back() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    reader_in, writer_waiting, release_reader = threading.Event(), threading.Event(), threading.Event()

    def first_reader() -> None:
        with lock.read():
            reader_in.set()
            release_reader.wait(WAIT)
            order.append("reader 1 out")

    def writer() -> None:
        writer_waiting.set()
        with lock.write():
            order.append("writer")

    def late_reader() -> None:
        with lock.read():
            order.append("reader 2")

    r1 = threading.Thread(target=first_reader)
    r1.start()
    assert reader_in.wait(WAIT)
    w = threading.Thread(target=writer)
    w.start()
    assert writer_waiting.wait(WAIT)
    while lock._writers_waiting == 0:  # the writer is queued behind reader 1
        threading.Event().wait(0.001)
    r2 = threading.Thread(target=late_reader)
    r2.start()
    release_reader.set()
    for t in (r1, w, r2):
        t.join(WAIT)
    assert order == ["reader 1 out", "writer", "reader 2"]
