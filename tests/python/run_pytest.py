#!/usr/bin/env python3
"""Runs pytest on some of tests/python and fails unless tests ran and all passed.

  run_pytest.py --venv DIR --junit FILE -- PYTEST ARGS...

pytest exits 5 when it collects nothing; that, a test skipped, or a report with no test case is
a failure here too, so a broken selection or setup can never pass silently.
"""
import argparse
import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--junit", required=True)
    parser.add_argument("--min-tests", type=int, default=1)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    pytest_args = [a for a in args.pytest_args if a != "--"]
    if os.path.exists(args.junit):
        os.remove(args.junit)
    python = os.path.join(args.venv, "bin", "python")
    env = dict(os.environ)
    env.pop("HALFCAST_LIBRARY", None)  # the installed package's bundled copy is under test
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the source tree
    command = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs",
               f"--junitxml={args.junit}", *pytest_args]
    code = subprocess.run(command, env=env).returncode
    if code == 5:
        sys.exit("run_pytest: pytest collected no tests (exit 5)")
    if code != 0:
        sys.exit(code)
    if not os.path.exists(args.junit):
        sys.exit("run_pytest: pytest wrote no report")
    suites = ET.parse(args.junit).getroot()
    suites = [suites] if suites.tag == "testsuite" else list(suites.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    if total < args.min_tests or skipped or bad:
        sys.exit(f"run_pytest: {total} tests, {skipped} skipped, {bad} failed or errors "
                 f"(need at least {args.min_tests}, none skipped)")
    print(f"run_pytest: {total} tests passed")


if __name__ == "__main__":
    main()
