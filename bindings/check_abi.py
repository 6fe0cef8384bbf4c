#!/usr/bin/env python3
"""Checks that every binding's copy of the C ABI matches capi/include/halfcast/halfcast_c.h.

All bindings check at load time that the library implements the ABI they were written
against; this check keeps what they were written against in line with the header:
- the ABI version (HALFCAST_C_ABI_VERSION) in the Rust, Go, C# and Python bindings;
- every function of the header declared in halfcast-sys and in the C# Native class;
- every enum value of the header in halfcast-sys (same names) and in the C# enums (same
  values, names in CamelCase).
Go reads the header itself through cgo, and refuses another ABI at build time (#error).
Usage: check_abi.py [REPO_ROOT]. Prints each mismatch; exits 1 if there is one.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
HEADER = ROOT / "capi/include/halfcast/halfcast_c.h"
RUST_SYS = ROOT / "bindings/rust/halfcast-sys/src/lib.rs"
GO = ROOT / "bindings/go/halfcast.go"
DOTNET = ROOT / "bindings/dotnet/Halfcast"
PYTHON = ROOT / "python/halfcast/_capi.py"

# The C# enum standing for each C enum (halfcast_tensor_data_mode has none: Tensor copies).
DOTNET_ENUMS = {
    "halfcast_status_code": "StatusCode",
    "halfcast_log_level": "LogLevel",
    "halfcast_element_type": "ElementType",
    "halfcast_target": "Target",
    "halfcast_search_strategy": "Strategy",
    "halfcast_option": "OptionKey",
    "halfcast_segment_state": "SegmentState",
    "halfcast_report_value": "ReportValue",
}


def header_abi_version(text):
    return int(re.search(r"#define HALFCAST_C_ABI_VERSION (\d+)", text).group(1))


def header_functions(text):
    return re.findall(r"HALFCAST_C_EXPORT [^;(]*?\b(halfcast_\w+)\(", text)


def header_enums(text):
    """{enum type: {member: value}} of the header's typedef enums."""
    enums = {}
    for name, body in re.findall(r"typedef enum (\w+) \{(.*?)\}", text, re.S):
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        enums[name] = {m: int(v) for m, v in re.findall(r"(HALFCAST_\w+)\s*=\s*(\d+)", body)}
    return enums


def dotnet_enums(text):
    enums = {}
    for name, body in re.findall(r"public enum (\w+) \{(.*?)\}", text, re.S):
        body = re.sub(r"///.*", "", body)
        enums[name] = {m: int(v) for m, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    return enums


def bare(name):
    return name.replace("_", "").lower()


def main():
    header = HEADER.read_text()
    abi = header_abi_version(header)
    functions = header_functions(header)
    enums = header_enums(header)
    rust = RUST_SYS.read_text()
    go = GO.read_text()
    dotnet = "\n".join(p.read_text() for p in sorted(DOTNET.glob("*.cs")))
    python = PYTHON.read_text()
    problems = []

    versions = {
        "Rust (halfcast-sys)": re.search(r"pub const HALFCAST_C_ABI_VERSION: c_int = (\d+);", rust),
        "Go (ABIVersion)": re.search(r"const ABIVersion = (\d+)", go),
        "Go (#if in the cgo preamble)": re.search(r"#if HALFCAST_C_ABI_VERSION != (\d+)", go),
        "C# (Library.AbiVersion)": re.search(r"public const int AbiVersion = (\d+);", dotnet),
        "Python (_capi.ABI_VERSION)": re.search(r"^ABI_VERSION = (\d+)", python, re.M),
    }
    for binding, match in versions.items():
        if not match or int(match.group(1)) != abi:
            found = match.group(1) if match else "nothing"
            problems.append(f"{binding}: ABI version {found}, the header has {abi}")

    for function in functions:
        if not re.search(rf"pub fn {function}\(", rust):
            problems.append(f"Rust (halfcast-sys): {function} is not declared")
        if not re.search(rf"static extern \S+ {function}\(", dotnet):
            problems.append(f"C# (Native.cs): {function} is not declared")

    cs_enums = dotnet_enums(dotnet)
    for enum, members in enums.items():
        for member, value in members.items():
            if not re.search(rf"\b{member} = {value},", rust):
                problems.append(f"Rust (halfcast-sys): {enum} {member} = {value} is missing")
        if enum not in DOTNET_ENUMS:
            continue
        cs_name = DOTNET_ENUMS[enum]
        cs_members = {bare(m): v for m, v in cs_enums.get(cs_name, {}).items()}
        prefix = re.match(r"(HALFCAST_(?:[A-Z]+_)?)", next(iter(members))).group(1)
        shared = prefix if all(m.startswith(prefix) for m in members) else "HALFCAST_"
        for member, value in members.items():
            key = bare(member[len(shared):])
            if cs_members.get(key) != value:
                problems.append(f"C# ({cs_name}): {member} = {value} has no member "
                                f"{key!r} of that value")

    for problem in problems:
        print(problem)
    print(f"checked ABI {abi}, {len(functions)} functions and {len(enums)} enums of {HEADER.name}:"
          f" {len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
