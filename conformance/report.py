#!/usr/bin/env python3
"""Reads the logs of Redis' test suites (tests/sentinel and main-suite units run by redis-suite.sh),
prints per unit the tests passed and failed, then `N passed, M failed`, and judges the failures
against the expectations file. Exit 1 when a test fails without being listed, a listed test passes,
or a unit did not run to its end without that being listed.

usage: report.py --target T --expect FILE KIND:UNIT:LOG...
  KIND is `main` (one unit of ./runtest) or `sentinel` (the whole ./runtest-sentinel run).

Expectations, one per line: `TARGETS | UNIT | TEST | REASON`, TARGETS a comma list of redsim,
reference, redsim-sentinels, real-sentinels or `*`. A unit that stopped early is the pseudo-test
`(unit did not finish)`; errors in a unit's code between tests are `(error outside a test)`.
A REASON starting with `flaky:` marks a test that fails only sometimes: either outcome is accepted.
"""
import argparse
import re
import sys
from collections import OrderedDict

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ABORTED = "(unit did not finish)"
OUTSIDE = "(error outside a test)"


class Unit:
    def __init__(self, name):
        self.name = name
        self.results = OrderedDict()  # test name -> list of "ok" / "err"
        self.finished = False
        self.notes = []

    def add(self, test, status):
        self.results.setdefault(test, []).append(status)

    def failed_tests(self):
        fails = [t for t, r in self.results.items() if "err" in r]
        if not self.finished:
            fails.append(ABORTED)
        return fails

    def passed_tests(self):
        return [t for t, r in self.results.items() if "err" not in r]

    def counts(self):
        ok = sum(r.count("ok") for r in self.results.values())
        err = sum(r.count("err") for r in self.results.values())
        return ok, err + (0 if self.finished else 1)


def lines_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield ANSI.sub("", line.rstrip("\r\n"))


def parse_main(unit_name, path):
    unit = Unit(unit_name)
    suffix = re.compile(r" in tests/\S+\.tcl$")
    for line in lines_of(path):
        m = re.match(r"^\[ok\]: (.*) \(\d+ ms\)$", line)
        if m:
            unit.add(m.group(1), "ok")
            continue
        m = re.match(r"^\[err\]: (.*)$", line)
        if m:
            if suffix.search(m.group(1)):
                unit.add(suffix.sub("", m.group(1)), "err")
            else:
                # Not a test's verdict: an error in the unit's own code between tests (a server
                # that would not start, a command failing in setup).
                unit.add(OUTSIDE, "err")
                unit.notes.append(line)
            continue
        if re.match(r"^\[\d+/\d+ done\]: ", line):
            unit.finished = True
        elif line.startswith("[exception]:") or line.startswith("[TIMEOUT]"):
            unit.notes.append(line)
    return [unit]


SENTINEL_TEST = re.compile(r"^\d\d:\d\d:\d\d> (.*)$")


def sentinel_verdict(unit, name, text):
    """Records `name`'s verdict if `text` holds one (OK, or FAILED: and why); says whether it did."""
    if text.endswith("OK"):
        unit.add(name, "ok")
    elif "FAILED: " in text:
        unit.add(name, "err")
        if "caught an error in the test" in text:
            unit.notes.append(text.split("FAILED: ", 1)[1])
    else:
        return False
    return True


def parse_sentinel(path):
    """tests/sentinel prints `HH:MM:SS> name: ` then OK or FAILED: ..., possibly after other output
    (`Waiting for process ...`) on the same line or lines in between."""
    units = []
    unit = None
    pending = None  # a test whose verdict has not been printed yet
    # Whether a unit ran to its end is decided after the loop, from its notes.
    for line in lines_of(path):
        m = re.match(r"^Testing unit: (.*)\.tcl$", line)
        if m:
            unit = Unit("sentinel/" + m.group(1))
            units.append(unit)
            pending = None
            continue
        if unit is None:
            continue
        m = SENTINEL_TEST.match(line)
        if m:
            # No sentinel test name contains ": ", so the name ends at the first one; what follows
            # is the verdict, maybe after output of the test itself ("sentinel/0 sentinel/1 OK").
            name, _, text = m.group(1).partition(": ")
            pending = None if sentinel_verdict(unit, name, text) else name
            continue
        if pending is not None:
            if sentinel_verdict(unit, pending, line):
                pending = None
            continue
        if line.startswith("FAILED: caught an error in the test") or line.startswith(
            "WARNING: Aborting the test."
        ) or line.startswith(">>>>>>>> "):
            unit.notes.append(line)
    # The last unit finished if the run reached its final verdict line after it.
    text = open(path, encoding="utf-8", errors="replace").read()
    ended = "GOOD! No errors." in text or re.search(r"WARNING \d+ test\(s\) failed\.", text)
    for i, u in enumerate(units):
        aborted_here = any("caught an error" in n or "Aborting" in n or n.startswith(">>>") for n in u.notes)
        last = i == len(units) - 1
        u.finished = not aborted_here and (not last or bool(ended))
    if not units:
        u = Unit("sentinel")
        u.notes.append("no unit started")
        units.append(u)
    return units


def first_run_summary(unit):
    ok, err = unit.counts()
    return f"the first run had {ok} passed, {err} failed"


def load_expectations(path, target):
    listed = {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(" | ")]
            if len(parts) != 4 or not parts[3]:
                sys.exit(f"{path}:{n}: expected `TARGETS | UNIT | TEST | REASON`")
            targets = [t.strip() for t in parts[0].split(",")]
            if "*" in targets or target in targets:
                listed[(parts[1], parts[2])] = parts[3]
    return listed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--failed-units", help="write the units judged wrong here, one per line")
    ap.add_argument("runs", nargs="+")
    args = ap.parse_args()
    # A later run of a unit (a retry) replaces the earlier one, in the earlier one's place.
    by_name = OrderedDict()
    for run in args.runs:
        kind, name, path = run.split(":", 2)
        for u in parse_sentinel(path) if kind == "sentinel" else parse_main(name, path):
            if u.name in by_name:
                u.notes.insert(0, "retried: " + first_run_summary(by_name[u.name]))
            by_name[u.name] = u
    units = list(by_name.values())
    listed = load_expectations(args.expect, args.target)

    unexpected, now_passing, bad_units = [], [], []
    total_ok = total_err = total_listed = 0
    print(f"\n{'unit':<44} {'passed':>7} {'failed':>7} {'listed':>7}")
    for u in units:
        ok, err = u.counts()
        fails = u.failed_tests()
        n_listed = sum(1 for t in fails if (u.name, t) in listed)
        total_ok, total_err, total_listed = total_ok + ok, total_err + err, total_listed + n_listed
        mark = "" if u.finished else "  (did not finish)"
        print(f"{u.name:<44} {ok:>7} {err:>7} {n_listed:>7}{mark}")
        for note in u.notes[:3]:
            print(f"    {note[:160]}")
        wrong = [(u.name, t) for t in fails if (u.name, t) not in listed]
        # A listed test that passes is stale, unless its reason says it is timing-sensitive.
        stale = [(u.name, t) for t in u.passed_tests()
                 if (u.name, t) in listed and not listed[(u.name, t)].startswith("flaky:")]
        unexpected += wrong
        now_passing += stale
        if (wrong or stale) and args.failed_units:
            bad_units.append(u.name)
    run_units = {u.name for u in units}
    unseen = [k for k in listed if k[0] in run_units and k not in
              {(u.name, t) for u in units for t in list(u.results) + ([ABORTED] if not u.finished else [])}]

    if unexpected:
        print(f"\nfailing, not listed in {args.expect} ({len(unexpected)}):")
        for unit, test in unexpected:
            print(f"  {unit} | {test}")
    if now_passing:
        print(f"\nlisted as failing but passing now ({len(now_passing)}): remove them from the list")
        for unit, test in now_passing:
            print(f"  {unit} | {test}")
    if unseen:
        print(f"\nlisted but not run this time ({len(unseen)}):")
        for unit, test in unseen:
            print(f"  {unit} | {test}")
    print()
    print(f"{total_ok} passed, {total_err} failed")
    print(f"conformance ({args.target}): {total_listed} of the failures are listed with a reason, "
          f"{len(unexpected)} unexpected, {len(now_passing)} listed ones passing")
    if args.failed_units:
        with open(args.failed_units, "w", encoding="utf-8") as f:
            f.writelines(name + "\n" for name in bad_units)
    sys.exit(1 if unexpected or now_passing else 0)


if __name__ == "__main__":
    main()
