"""The local pool's stop signal survives workers killed while they look at it (kill -9, or a SIGTERM
to the whole process group, as `timeout` or systemd send): a multiprocessing Event's lock, left held
by a process killed inside ``is_set``, had hung the server's shutdown for good."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time

from ocr_service.service.jobs.local import StopFlag


def _look(flag, started) -> None:
    started.set()
    while True:  # what an idle worker does between polls, as fast as it can
        flag.is_set()
        flag.wait(0.001)


def _until_set(flag, seen) -> None:
    while not flag.wait(0.05):
        pass
    seen.value = 1


def test_stop_flag_survives_processes_killed_while_looking_at_it():
    ctx = mp.get_context("forkserver")
    flag = StopFlag(ctx)
    for _ in range(15):
        started = ctx.Event()
        p = ctx.Process(target=_look, args=(flag, started), daemon=True)
        p.start()
        assert started.wait(30)
        time.sleep(0.05)
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
    seen = ctx.RawValue("b", 0)
    waiter = ctx.Process(target=_until_set, args=(flag, seen), daemon=True)
    waiter.start()
    done = threading.Event()
    setter = threading.Thread(target=lambda: (flag.set(), done.set()), daemon=True)
    setter.start()
    assert done.wait(5), "setting the flag blocked"
    waiter.join(10)
    assert not waiter.is_alive() and seen.value == 1
    flag.clear()
    assert not flag.is_set() and flag.wait(0.1) is False
