"""An in-tree PEP 517 build backend for the halfcast package: no download, no setuptools.

pip builds the package offline with it (pyproject.toml: ``requires = []``,
``backend-path = ["build_backend"]``). It writes the wheel with zipfile: the ``halfcast``
package, its dist-info (METADATA, WHEEL, RECORD) and, when asked, a copy of libhalfcast_c:

    python3 -m pip install ./python             # uses an installed library
    python3 -m pip install ./python --config-settings bundle-library=build/capi/libhalfcast_c.so
    HALFCAST_BUNDLE_LIBRARY=build/capi/libhalfcast_c.so python3 -m pip install ./python

A wheel with the library bundled is tagged for this platform (py3-none-linux_x86_64, say); one
without is pure (py3-none-any).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import zipfile
from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: F401

NAME = "halfcast"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/


def _version() -> str:
    with open(os.path.join(HERE, NAME, "__init__.py"), encoding="utf-8") as f:
        match = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    if not match:
        raise RuntimeError("halfcast/__init__.py has no __version__")
    return match.group(1)


def _metadata(version: str) -> str:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        "Summary: Convert ONNX models from float32 to float16/bfloat16 (whole or mixed precision);"
        " a drop-in for onnxconverter-common's float16 and auto_mixed_precision",
        "Requires-Python: >=3.8",
        "Requires-Dist: numpy",
        "Requires-Dist: onnx>=1.12",
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])


def _bundled_library(config_settings: Optional[Mapping[str, Any]]) -> Optional[str]:
    value = None
    if config_settings:
        value = config_settings.get("bundle-library") or config_settings.get("bundle_library")
        if isinstance(value, list):
            value = value[-1]
    value = value or os.environ.get("HALFCAST_BUNDLE_LIBRARY")
    if not value:
        return None
    path = os.path.abspath(os.path.expanduser(str(value)))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"halfcast build: bundle-library {path} is not a file")
    return os.path.realpath(path)


def _platform_tag() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", sysconfig.get_platform())


def _package_files() -> List[Tuple[str, str]]:
    """(path in the wheel, path on disk) of the package's sources, sorted."""
    files = []
    root = os.path.join(HERE, NAME)
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_lib"))
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                disk = os.path.join(folder, name)
                files.append((os.path.relpath(disk, HERE).replace(os.sep, "/"), disk))
    return files


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write(zf: zipfile.ZipFile, arcname: str, data: bytes, record: List[str],
           executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
    zf.writestr(info, data)
    record.append(_record_line(arcname, data))


def _build(wheel_directory: str, config_settings: Optional[Mapping[str, Any]],
           metadata_only: bool = False) -> str:
    version = _version()
    library = _bundled_library(config_settings)
    tag = f"py3-none-{_platform_tag()}" if library else "py3-none-any"
    dist_info = f"{NAME}-{version}.dist-info"
    wheel_text = "\n".join(["Wheel-Version: 1.0", "Generator: halfcast_build",
                            f"Root-Is-Purelib: {'false' if library else 'true'}",
                            f"Tag: {tag}", ""])
    if metadata_only:
        folder = os.path.join(wheel_directory, dist_info)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8") as f:
            f.write(_metadata(version))
        with open(os.path.join(folder, "WHEEL"), "w", encoding="utf-8") as f:
            f.write(wheel_text)
        return dist_info
    name = f"{NAME}-{version}-{tag}.whl"
    record: List[str] = []
    path = os.path.join(wheel_directory, name)
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, disk in _package_files():
            with open(disk, "rb") as f:
                _write(zf, arcname, f.read(), record)
        if library:
            with open(library, "rb") as f:
                _write(zf, f"{NAME}/_lib/libhalfcast_c.so", f.read(), record, executable=True)
        _write(zf, f"{dist_info}/METADATA", _metadata(version).encode(), record)
        _write(zf, f"{dist_info}/WHEEL", wheel_text.encode(), record)
        _write(zf, f"{dist_info}/top_level.txt", f"{NAME}\n".encode(), record)
        record.append(f"{dist_info}/RECORD,,")
        _write_record(zf, f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return name


def _write_record(zf: zipfile.ZipFile, arcname: str, text: str) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o644 | 0o100000) << 16
    zf.writestr(info, text.encode())


# ----- PEP 517 hooks -----

def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[Dict[str, Any]] = None) -> str:
    return _build(metadata_directory, config_settings, metadata_only=True)


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    return _build(wheel_directory, config_settings)


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    version = _version()
    base = f"{NAME}-{version}"
    name = f"{base}.tar.gz"
    members = [(arc, disk) for arc, disk in _package_files()]
    for extra in ("pyproject.toml", "README.md", "build_backend/halfcast_build.py"):
        members.append((extra, os.path.join(HERE, extra)))
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for arcname, disk in sorted(members):
            info = tar.gettarinfo(disk, f"{base}/{arcname}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(disk, "rb") as f:
                tar.addfile(info, f)
        pkg_info = _metadata(version).encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size, info.mtime = len(pkg_info), 0
        tar.addfile(info, io.BytesIO(pkg_info))
    return name
