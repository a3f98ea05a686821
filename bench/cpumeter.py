"""CPU time of the servers under test and everything they fork, for the
benchmarks (bench/compare.py, bench/sql_bench.py)."""
import os
import re
from pathlib import Path


def proc_times():
    """{pid: (ppid, cpu seconds incl. reaped children)} of all processes."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        out[int(p.name)] = (int(f[1]),
                            sum(int(x) for x in f[11:15]) / tick)
    return out


def tree_pids(roots):
    """The pids of the process trees under ROOTS."""
    t = proc_times()
    kids = {}
    for pid, (ppid, _) in t.items():
        kids.setdefault(ppid, []).append(pid)
    todo, seen = list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in t:
            continue
        seen.add(pid)
        todo += kids.get(pid, [])
    return seen


def tree_seconds(roots):
    """CPU seconds so far (user + system, reaped children included) of the
    process trees under ROOTS; a process that ended unreaped is lost."""
    t = proc_times()
    return sum(t[p][1] for p in tree_pids(roots) if p in t)


class CpuMeter:
    """CPU time of the servers and everything they fork.

    With a cgroup (v1 cpuacct, or v2), every server process is moved into
    one group, and whatever they fork later (php-cgi, openssl, new
    children) is counted there, reaped or not.  Without one: the machine's
    busy time (/proc/stat) less the load tool's own CPU time."""

    def __init__(self):
        self.group = None
        for base, usage in (("/sys/fs/cgroup/cpuacct", "cpuacct.usage"),
                            ("/sys/fs/cgroup", "cpu.stat")):
            g = Path(base) / f"devprov-bench-{os.getpid()}"
            try:
                g.mkdir()
                (g / usage).read_text()
            except OSError:
                continue
            self.group, self.usage = g, usage
            break
        self.how = ("a cgroup holding the servers" if self.group else
                    "the machine's busy time less the load tool's")

    def adopt(self, roots):
        if not self.group:
            return
        for pid in tree_pids(roots):
            try:
                (self.group / "cgroup.procs").write_text(str(pid))
            except OSError:
                pass            # gone meanwhile

    def seconds(self):
        if self.group:
            text = (self.group / self.usage).read_text()
            if self.usage == "cpu.stat":
                return int(re.search(r"usage_usec (\d+)", text)[1]) / 1e6
            return int(text) / 1e9
        f = Path("/proc/stat").read_text().split("\n")[0].split()[1:]
        busy = sum(int(x) for i, x in enumerate(f) if i not in (3, 4))
        return busy / os.sysconf("SC_CLK_TCK")

    def close(self):
        if self.group:
            try:
                self.group.rmdir()
            except OSError:
                pass
