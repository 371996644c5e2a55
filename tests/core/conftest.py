from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any, Iterator

import pytest

import lictor


class Clock:
    """A clock tests can move, passed to Governor(clock=...)."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_gov(clock: Clock):
    made: list[lictor.Governor] = []

    def make(policy: Any = None, plugins: Any = (), **kw: Any) -> lictor.Governor:
        kw.setdefault("load_entrypoints", False)
        kw.setdefault("clock", clock)
        gov = lictor.Governor(policy if policy is not None else {}, plugins, **kw)
        made.append(gov)
        return gov

    yield make
    for g in made:
        g.close()


# A real redis-server for the tests of shared state (started per test module that asks).
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: `apt-get install -y redis-server` (.ci/run does this)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
