#!/usr/bin/python3
"""The runtime files a model's folder carries (compiler/backend/runtime_files.c)
against the symbols of the runtime as built.

    tests/cli/check_runtime_deps.py [--cc CC] [--flags "-march=native"]...

Each runtime .c file (runtime/driver/ aside) is compiled at -O0, where no
call is optimized away, once per --flags set (default: the compiler's own
target, and -march=native where it has one). Every rn_ function a file
calls that another file defines must be among the files rt_deps lists for
it; conv/conv_pack.c is compiled once per convolution algorithm, all the
others left out with their RN_OMIT_CONV_* macro, and may call that
algorithm's files (conv_algos) besides its own list. A file that calls
another without saying so would leave a model's folder unable to link.
Exit status 1 on any mismatch, with the file and symbol named.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE = os.path.join(ROOT, "compiler/backend/runtime_files.c")


def parse_table():
    text = open(TABLE).read()
    body = text.split("/* BEGIN rt_deps", 1)[1].split("/* END rt_deps */", 1)[0]
    deps = {}
    for m in re.finditer(r'\{\s*"([^"]+)",\s*\{([^}]*)\}\s*\}', body):
        deps[m.group(1)] = set(re.findall(r'"([^"]+)"', m.group(2)))
    algos = {}
    for m in re.finditer(r'\{\s*RN_CONV_\w+,\s*"(RN_OMIT_CONV_\w+)",\s*\{([^}]*)\}\s*\}', text):
        algos[m.group(1)] = set(re.findall(r'"([^"]+)"', m.group(2)))
    if not deps or not algos:
        sys.exit("check_runtime_deps: cannot read the tables of %s" % TABLE)
    return deps, algos


def symbols(obj):
    out = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDRBC":
            defined.add(parts[2])
    return defined, undefined


def compile_one(cc, flags, src, obj, defines=()):
    cmd = [cc, "-std=c11", "-O0", "-c", "-Iinclude", "-D_POSIX_C_SOURCE=200809L"] + flags
    cmd += ["-D" + d for d in defines] + [src, "-o", obj]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit("check_runtime_deps: %s failed:\n%s" % (" ".join(cmd), r.stderr))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--flags", action="append")
    a = ap.parse_args()
    sets = a.flags
    if sets is None:
        sets = [""]
        native = subprocess.run([a.cc, "-march=native", "-E", "-x", "c", "/dev/null"],
                                capture_output=True)
        if native.returncode == 0:
            sets.append("-march=native")
    deps, algos = parse_table()
    files = sorted(os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "runtime"))
                   for d, _, fs in os.walk(os.path.join(ROOT, "runtime")) for f in fs
                   if f.endswith(".c") and not d.endswith("driver"))
    bad = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for flags in sets:
            fl = flags.split()
            where = {}
            undef = {}
            for f in files:
                obj = os.path.join(tmp, f.replace("/", "_") + ".o")
                compile_one(a.cc, fl, "runtime/" + f, obj)
                d, u = symbols(obj)
                for s in d:
                    where[s] = f
                undef[f] = u
            # each file but conv_pack.c, as it is
            cases = [(f, undef[f], deps.get(f, set())) for f in files if f != "conv/conv_pack.c"]
            # conv_pack.c once per algorithm, the others left out
            for keep in algos:
                obj = os.path.join(tmp, "pack_%s.o" % keep)
                compile_one(a.cc, fl, "runtime/conv/conv_pack.c", obj,
                            [m for m in algos if m != keep])
                cases.append(("conv/conv_pack.c (only %s's algorithm)" % keep[len("RN_OMIT_CONV_"):],
                              symbols(obj)[1], deps.get("conv/conv_pack.c", set()) | algos[keep]))
            for name, u, allowed in cases:
                checked += 1
                for s in sorted(u):
                    g = where.get(s)
                    if g and g != name and g not in allowed:
                        print("check_runtime_deps: %s%s calls %s (%s), which rt_deps does not list"
                              % (name, " [" + flags + "]" if flags else "", s, g))
                        bad += 1
    print("check_runtime_deps: %d file builds checked against rt_deps, %d missing" % (checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
