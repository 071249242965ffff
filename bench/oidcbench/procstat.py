"""CPU time and peak memory of a process and its descendants, read from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """`root` and every process below it (children of children too)."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (fields 14 and 15 of /proc/PID/stat)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: field 3 is index 0, so utime (14) is index 11 and stime (15) index 12.
    return (int(fields[11]) + int(fields[12])) / _TICK


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the resident set's high-water mark, in KiB."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class TreeSample:
    cpu_seconds: float
    peak_rss_kib: int
    processes: int


def sample_tree(root: int) -> TreeSample:
    pids = descendants(root)
    return TreeSample(
        cpu_seconds=sum(cpu_seconds(p) for p in pids),
        peak_rss_kib=sum(peak_rss_kib(p) for p in pids),
        processes=len(pids),
    )
