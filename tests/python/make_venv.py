#!/usr/bin/env python3
"""The `python.venv` ctest fixture: a fresh virtual environment with the halfcast package.

  make_venv.py --venv DIR --package python/ --library $<TARGET_FILE:halfcast_c>

Removes DIR, creates it with `python3 -m venv --system-site-packages` (numpy, onnx and pytest
come from Debian), and installs the package from the source tree with pip, offline, bundling
the built library into the wheel (`--config-settings bundle-library=...`), as the package README
tells users to. Then checks that the installed package loads that bundled copy.
"""
import argparse
import os
import shutil
import subprocess
import sys


def run(command, **kwargs):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--package", required=True)
    parser.add_argument("--library", required=True)
    args = parser.parse_args()
    if os.path.exists(args.venv):
        shutil.rmtree(args.venv)
    run([sys.executable, "-m", "venv", "--system-site-packages", args.venv])
    python = os.path.join(args.venv, "bin", "python")
    # --no-index: there is no PyPI here, and nothing may be downloaded; the build backend is in
    # the tree (requires = []) and numpy/onnx come from the system site-packages.
    run([python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
         "--no-cache-dir", "--quiet", args.package,
         "--config-settings", f"bundle-library={args.library}"])
    env = dict(os.environ)
    env.pop("HALFCAST_LIBRARY", None)
    out = subprocess.run([python, "-c", "import halfcast; print(halfcast.library_path())"],
                         check=True, capture_output=True, text=True, env=env, cwd="/").stdout
    expected = os.path.join("halfcast", "_lib", "libhalfcast_c.so")
    if not out.strip().endswith(expected) or not out.startswith(os.path.abspath(args.venv)):
        sys.exit(f"the installed package loads {out.strip()}, not its bundled copy")
    print(f"installed; library {out.strip()}")


if __name__ == "__main__":
    main()
