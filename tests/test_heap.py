"""Freed heap memory goes back to the system, and a running server trims at most once in a while."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from chatrec.heap import Trimmer, _libc


def test_a_trim_gives_back_what_worker_threads_freed() -> None:
    if _libc() is None:
        pytest.skip("malloc_trim is glibc's; this C library has none")
    script = textwrap.dedent("""
        import threading
        from chatrec.heap import release_freed_memory

        def rss_kb():
            return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])

        def work():   # many small blocks, every other one kept: freed holes that free() alone keeps
            blocks = [bytearray(3000) for _ in range(40_000)]
            del blocks[::2]
            kept.append(blocks)

        kept = []
        threads = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for blocks in kept:
            del blocks[::2]
        before = rss_kb()
        assert release_freed_memory()
        print(before, rss_kb())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    before, after = map(int, out)
    assert before - after > 50_000, f"{before} kB before the trim, {after} kB after"


def test_trims_are_spaced_and_run_in_their_own_thread() -> None:
    trimmer = Trimmer(every_s=3600)
    thread = trimmer.maybe()
    assert thread is not None and thread.name == "chatrec-trim"
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert trimmer.maybe() is None, "a second trim within the hour"
    assert Trimmer(every_s=0).maybe() is not None
