"""What the benchmarks' processes cost: CPU seconds and peak memory of this process and its descendants.

Dagster runs each step in a process of its own (forked from a server process), and the sandbox runs
in another: ``ProcessWatch`` samples /proc for all of them while a benchmark runs, so the figures
cover processes that have ended by the time they are reported. Linux only, as /proc is.
"""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass, field
from typing import Any

PROC = "/proc"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class _Seen:
    group: str  # "pipeline", "sandbox" or "database"
    command: str
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


def _read(path: str) -> bytes:
    with open(path, "rb", buffering=0) as file:
        return file.read()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            stat = _read(f"/proc/{name}/stat")
        except OSError:
            continue
        # The command sits in parentheses and may hold spaces: the fields follow the last ")".
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(name))
    return children


def _descendants(root: int, children: dict[int, list[int]]) -> list[int]:
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _sample(pid: int) -> tuple[float, float, str] | None:
    """(CPU seconds, peak RSS in MB, command) of a live process; None once it is gone."""
    try:
        stat = _read(f"/proc/{pid}/stat").decode()
        status = _read(f"/proc/{pid}/status").decode()
        command = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    peak_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return cpu_s, peak_kb / 1024, command


@dataclass
class ProcessWatch:
    """Samples every ``interval_s``, until stopped: this process's descendants (the pipeline's, but
    for the ``sandbox`` process) and the database server's processes (under ``database``)."""

    sandbox: int | None = None
    database: int | None = None
    # The watch shares the cores it measures: a sample costs about a millisecond, twice a second.
    interval_s: float = 0.5
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessWatch:
        self._thread = threading.Thread(target=self._run, name="process-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.take()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.take()

    def take(self) -> None:
        """One sample, now."""
        children = _children_by_parent()
        groups = {pid: "pipeline" for pid in _descendants(os.getpid(), children)}
        if self.sandbox is not None:
            groups.update({pid: "sandbox" for pid in [self.sandbox, *_descendants(self.sandbox, children)]})
        if self.database is not None:
            groups.update({pid: "database" for pid in [self.database, *_descendants(self.database, children)]})
        for pid, group in groups.items():
            sample = _sample(pid)
            if sample is None:
                continue
            cpu_s, peak, command = sample
            seen = self._seen.setdefault(pid, _Seen(group, command))
            seen.cpu_s, seen.peak_rss_mb = max(seen.cpu_s, cpu_s), max(seen.peak_rss_mb, peak)

    def cpu_s(self, group: str) -> float:
        """CPU seconds of the group's processes seen so far, each up to its last sample; the pipeline's
        include this process's own."""
        own = own_cpu_s() if group == "pipeline" else 0.0
        return own + sum(seen.cpu_s for seen in self._seen.values() if seen.group == group)

    def largest(self, group: str) -> dict[str, Any]:
        """The group's process with the highest peak resident memory (the pipeline's include this one)."""
        best: dict[str, Any] = {"peak_rss_mb": 0.0, "process": None}
        if group == "pipeline":
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            best = {"peak_rss_mb": round(own, 1), "process": "the benchmark, where the Dagster run is orchestrated"}
        for seen in self._seen.values():
            if seen.group == group and seen.peak_rss_mb > best["peak_rss_mb"]:
                best = {"peak_rss_mb": round(seen.peak_rss_mb, 1), "process": seen.command[:100]}
        return best


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
