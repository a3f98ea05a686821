#!/usr/bin/python3
"""check-valgrind.py DIR - read the valgrind logs (vg.<pid>) that
tests/sanitize/apache2-valgrind left in DIR and fail on

  - any error (invalid read/write/free, uninitialised value, ...) or
    definite leak with a frame in our code: mod_devprov.c,
    mod_devprov_sql.c, src/dp_*.c, or the patched mod_ssl (build/.../obj/
    ssl_*.c: the module we build and ship);
  - a server process (apache2 -X, or apache2 -t) without valgrind's final
    summary: it was killed before the leak check, the run proves nothing.

Leaks of a process that died of a signal are listed but not counted: its
heap was checked at whatever instant the signal came.  That is mod_cgid's
daemon (a fork of apache2 -X, running no devprov code after the fork),
which apache SIGTERMs on exit - at times in the middle of its own exit
path, e.g. inside OpenSSL's OPENSSL_cleanup() between unlinking an
OBJ_NAME entry and freeing it, which then shows as "definitely lost".

Errors and definite leaks in third-party code only are listed, not
counted (add a documented suppression to tests/sanitize/valgrind.supp if
one is noise you want gone)."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# a frame in a source file of this tree (valgrind --fullpath-after=): the
# glue, src/, and mod_ssl's sources (build/obj/ssl_*.c links)
OURS = re.compile(r"\(" + re.escape(str(ROOT)) + r"/[^)]*\.[ch]:\d+\)")
FRAME = re.compile(r"^\s+(at|by) 0x")


def records(text):
    """Yield the records of one log: lists of lines without the ==pid== ."""
    rec = []
    for line in text.splitlines():
        m = re.match(r"^==\d+== ?(.*)$", line)
        if not m:
            continue
        body = m.group(1)
        if body.strip() == "":
            if rec:
                yield rec
            rec = []
        else:
            rec.append(body)
    if rec:
        yield rec


def main(d):
    d = Path(d)
    logs = sorted(d.glob("vg.*"))
    if not logs:
        print(f"valgrind: no logs in {d}", file=sys.stderr)
        return 1
    pids = {p.name.split(".", 1)[1] for p in logs}
    ours, theirs, incomplete = [], [], []
    nproc = 0
    for log in logs:
        text = log.read_text(errors="replace")
        parent = re.search(r"Parent PID: (\d+)", text)
        main_proc = not parent or parent.group(1) not in pids
        if main_proc:
            nproc += 1
            if "ERROR SUMMARY" not in text:
                incomplete.append(log.name)
        signalled = "Process terminating with default action" in text
        for rec in records(text):
            head = rec[0]
            frames = [line for line in rec if FRAME.match(line)]
            if not frames:
                continue
            if head.startswith("Process terminating with default action"):
                continue        # how it ended (SIGTERM), not an error
            leak = "definitely lost" in head
            if not leak and ("lost in loss record" in head
                             or "still reachable" in head):
                continue
            kind = "leak" if leak else "error"
            if leak and signalled:
                kind += ", in a process killed by a signal"
            entry = f"--- {log.name} ({kind})\n" + "\n".join(rec)
            if any(OURS.search(line) for line in frames) and not (
                    leak and signalled):
                ours.append(entry)
            else:
                theirs.append(entry)
    if theirs:
        print(f"valgrind: {len(theirs)} record(s) in third-party code only, "
              "or leaks of a signalled process (not counted):")
        print("\n".join(theirs))
    if ours:
        print(f"valgrind: {len(ours)} error/definite leak record(s) with our "
              "code in the stack:")
        print("\n".join(ours))
    if incomplete:
        print("valgrind: killed before the leak check (no ERROR SUMMARY): "
              + " ".join(incomplete))
    print(f"valgrind: {len(logs)} logs, {nproc} apache2 runs, "
          f"{len(ours)} records in our code, {len(theirs)} third-party, "
          f"{len(incomplete)} incomplete")
    return 1 if ours or incomplete else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
