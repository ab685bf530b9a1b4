#!/usr/bin/env python3
"""Fails (exit 1, naming file and line) when a file under src/ includes a folder its layer may
not use (docs/ARCHITECTURE.md). Run by the build (target check_layers, part of `all`), so a
wrong include fails the build. Usage: check_layers.py SRC_DIRECTORY"""
import pathlib
import re
import sys

# Each folder and the folders it may include, lowest first (docs/ARCHITECTURE.md).
ORDER = [
    "util", "io", "log", "index", "db", "repository", "backup", "restore", "server", "cli"
]
MAY_USE = {layer: set(ORDER[: i + 1]) for i, layer in enumerate(ORDER)}
# Not layers: the public API (usable by all) and the test helpers (tests only).
ALWAYS = {"ordo"}
TESTS_ONLY = {"tests"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/')


def main():
    src = pathlib.Path(sys.argv[1])
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc"):
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in MAY_USE:
            problems.append(f"{path}: folder {layer}/ is not in the layer list")
            continue
        is_test = path.name.endswith("_test.cc") or path.name.endswith("_test_util.h")
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            used = match.group(1)
            if not (src / used).is_dir() and used not in TESTS_ONLY:
                continue  # a library's header ("fmt/format.h"), not one of ours
            if used in ALWAYS or used in MAY_USE[layer]:
                continue
            # A test may use any layer: a backup is proven by restoring it, the repository by
            # taking a backup into it. The code under test stays layered.
            if is_test and (used in TESTS_ONLY or used in MAY_USE):
                continue
            problems.append(f"{path}:{number}: {layer}/ may not include {used}/ ({line.strip()})")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
