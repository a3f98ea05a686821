#!/usr/bin/python3
"""Fail if the Apache glue files call each other in a cycle, or if one of
them grows past the size the project keeps them under.

The glue is split by concern (mod_devprov_private.h draws the layers);
calls between its files must go one way only, so that each can be read,
changed and tested on top of the ones below it.  Reads the symbols of the
compiled objects (nm): a file "calls" another when it uses a function or
object that one defines.

usage: glue_layers.py BUILD_DIR/glue SOURCE_DIR
"""
import os
import subprocess
import sys

MAX_LINES = 900


def symbols(obj):
    out = subprocess.run(["nm", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def find_cycle(edges):
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return path + [n, m]
            if m not in state:
                c = visit(m, path + [n])
                if c:
                    return c
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state:
            c = visit(n, [])
            if c:
                return c[c.index(c[-1]):]
    return None


def main():
    objdir, srcdir = sys.argv[1], sys.argv[2]
    objs = sorted(f for f in os.listdir(objdir) if f.endswith(".o"))
    if not objs:
        sys.exit(f"glue_layers: no objects in {objdir}")
    defs, uses = {}, {}
    for o in objs:
        name = o[:-2]
        defs[name], uses[name] = symbols(os.path.join(objdir, o))
    owner = {}
    for name, ds in defs.items():
        for d in ds:
            owner[d] = name
    edges = {}
    for name, us in uses.items():
        # the module structure is data every file names: not a call
        edges[name] = {owner[u] for u in us
                       if u in owner and owner[u] != name
                       and u != "devprov_module"}
    bad = 0
    cycle = find_cycle(edges)
    if cycle:
        print("glue_layers: call cycle between glue files: "
              + " -> ".join(cycle))
        bad = 1
    for name in defs:
        path = os.path.join(srcdir, name + ".c")
        with open(path, encoding="utf-8") as f:
            n = sum(1 for _ in f)
        if n > MAX_LINES:
            print(f"glue_layers: {path} has {n} lines (at most {MAX_LINES}):"
                  " split it by concern")
            bad = 1
    for name in sorted(edges):
        print(f"  {name} -> {', '.join(sorted(edges[name])) or '-'}")
    sys.exit(bad)


if __name__ == "__main__":
    main()
