"""How many cores other processes leave free (from /proc/stat), so that generation takes a second thread only then.

On a 2-core machine, llama.cpp with two threads reads a prompt 1.8x and writes 1.6x as fast as with one while the
other core is idle, and runs 1.5x to 2x slower than one thread when another process keeps that core busy
(docs/replies.md, "Threads"). `CpuWatch` samples the machine's busy time and this process's own CPU time four times
a second, so the choice is made on the last second, at the start of each prompt.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

__all__ = ["CpuWatch", "others_busy", "threads_for"]

STAT = Path("/proc/stat")
PERIOD_S = 0.25
WINDOW_S = 1.0
FREE_ENOUGH = 0.5  # cores: another thread is taken only when others use less than half a core
Sample = tuple[float, float, float]  # (monotonic time, the machine's busy CPU seconds, this process's CPU seconds)


def others_busy(busy_s: float, own_s: float, elapsed_s: float) -> float:
    """Cores that other processes kept busy over `elapsed_s`: the machine's busy time less this process's own."""
    if elapsed_s <= 0:
        return 0.0
    return max(0.0, (busy_s - own_s) / elapsed_s)


def threads_for(cores: int, busy_elsewhere: float, most: int) -> int:
    """Threads for the next prompt: one more than one for each core that others leave wholly free, up to `most`."""
    free = cores - 1 - busy_elsewhere  # one core is ours in any case
    return max(1, min(most, 1 + max(0, math.ceil(free - FREE_ENOUGH))))


def _machine_busy_s() -> float | None:
    """Seconds of CPU time the whole machine has spent busy since boot (all cores), or None without /proc/stat."""
    try:
        with STAT.open() as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def read_sample() -> Sample | None:
    """Now, from /proc/stat and this process's CPU clock; None without /proc/stat."""
    busy = _machine_busy_s()
    return None if busy is None else (time.monotonic(), busy, time.process_time())


class CpuWatch:
    """A daemon thread keeping the last second of samples; `threads(most)` answers at once. `read` takes a sample
    (tests give recorded ones; `background=False` then takes samples only when asked)."""

    def __init__(
        self, cores: int | None = None, read: Callable[[], Sample | None] = read_sample, background: bool = True
    ) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.read, self.background = read, background
        self._samples: deque[Sample] = deque(maxlen=4 * int(WINDOW_S / PERIOD_S))  # callers sample too
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def _sample(self) -> bool:
        sample = self.read()
        if sample is None:
            return False
        self._samples.append(sample)
        return True

    def _run(self) -> None:
        while self._sample():
            time.sleep(PERIOD_S)

    def _start(self) -> None:
        with self._started:
            if self._thread is None and self.background and self.cores > 1 and self._sample():
                self._thread = threading.Thread(target=self._run, name="chatrec-cpu-watch", daemon=True)
                self._thread.start()

    def busy_elsewhere(self) -> float | None:
        """Cores other processes used over about the last second; None until there is a second of samples (or on
        a machine without /proc/stat)."""
        self._start()
        if not self._sample() or len(self._samples) < 2:
            return None
        now = self._samples[-1]
        then = next((s for s in self._samples if now[0] - s[0] <= WINDOW_S + PERIOD_S), self._samples[0])
        if now[0] - then[0] < WINDOW_S / 2:
            return None
        return others_busy(now[1] - then[1], now[2] - then[2], now[0] - then[0])

    def threads(self, most: int) -> int:
        """Threads for the next prompt: 1 when the machine is busy elsewhere or its load is not known yet."""
        if most <= 1 or self.cores <= 1:
            return 1
        busy = self.busy_elsewhere()
        return 1 if busy is None else threads_for(self.cores, busy, most)
