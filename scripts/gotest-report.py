#!/usr/bin/env python3
"""Reads `go test -json` on stdin, prints what plain `go test` would print
(package results, and the output of failing tests), and ends with one line
counting individual tests: "N passed, N failed, N skipped". Exits 1 when a
test or a package failed."""
import json
import sys

passed = failed = skipped = 0
failed_pkgs = []
outputs = {}  # (package, test) -> lines, printed only for failures
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        sys.stdout.write(line)
        continue
    pkg, test, action = ev.get("Package", ""), ev.get("Test"), ev.get("Action")
    if action == "output":
        if test:
            outputs.setdefault((pkg, test), []).append(ev.get("Output", ""))
        else:
            out = ev.get("Output", "")
            # Package-level lines: "ok ...", "FAIL ...", "? ... [no test files]", build errors.
            if not out.startswith(("=== ", "--- ", "PASS\n", "FAIL\n")) or out.startswith("FAIL\t"):
                sys.stdout.write(out)
        continue
    if test and action in ("pass", "fail", "skip"):
        if "/" in test:  # count top-level tests and subtests alike, but a parent once
            pass
        if action == "pass":
            passed += 1
        elif action == "skip":
            skipped += 1
        else:
            failed += 1
            sys.stdout.write("".join(outputs.get((pkg, test), [])))
        outputs.pop((pkg, test), None)
    elif not test and action == "fail":
        failed_pkgs.append(pkg)
sys.stdout.flush()
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or failed_pkgs else 0)
