#!/usr/bin/env python3
"""Differential-test oracle for `hcc ingest`: run hccinfhir 0.4.0's own extractors and filter.

Usage (from the repo root, after scripts/setup-python.sh):

    .venv/bin/python scripts/oracle/hccinfhir_extract_oracle.py --cpt-year 2026 FILE...
    .venv/bin/python scripts/oracle/hccinfhir_extract_oracle.py --cpt-year 2026 --bench FILE...

Per file: X12 files (starting with ISA) go to `extract_sld_837` (the whole file as one string,
as the library takes it), NDJSON files line by line and JSON files (one EOB, or a Bundle's
entries) to `extract_sld_fhir`; the service-level records then go through `apply_filter` with
the `ra_eligible_cpt_hcpcs_<cpt-year>.csv` list the library ships. hccinfhir keeps a member's
diagnoses as the union of `claim_diagnosis_codes` over the records the filter kept
(`HCCInFHIR._get_unique_diagnosis_codes`), so that is what is printed: one NDJSON line per member,
`{"member_id", "dx": [normalized codes, sorted]}`, then one line `{"summary": {...}}` with record
and error counts. A record hccinfhir raises on is counted in `errors` (the library's own
`extract_sld_list` skips such records the same way). Nothing is added to the library's logic.

`--bench`: no per-member output; one JSON line with bytes, seconds (file reading, extraction and
filter, all inside the timed region), CPU seconds of the process in that region, and MB/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict

from hccinfhir.extractor_837 import extract_sld_837
from hccinfhir.extractor_fhir import extract_sld_fhir
from hccinfhir.filter import apply_filter
from hccinfhir.utils import load_proc_filtering


def norm(code: str) -> str:
    return code.replace(".", "").replace(" ", "").upper()


def records_of(path: str):
    """Yield ('837', text) or ('fhir', dict) units the way a caller of the library would."""
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    if head.startswith(b"ISA"):
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            yield "837", f.read()
        return
    if path.endswith((".ndjson", ".jsonl")):
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    try:
                        yield "fhir", json.loads(line)
                    except json.JSONDecodeError:
                        yield "error", None
        return
    with open(path, "r", encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("resourceType") == "Bundle":
        for e in doc.get("entry", []):
            yield "fhir", e.get("resource")
    else:
        yield "fhir", doc


def run(paths, cpt):
    dx = defaultdict(set)
    stats = {"records": 0, "slds": 0, "kept": 0, "errors": 0}
    for path in paths:
        for kind, unit in records_of(path):
            stats["records"] += 1
            if kind == "error":
                stats["errors"] += 1
                continue
            try:
                slds = extract_sld_837(unit) if kind == "837" else extract_sld_fhir(unit)
            except (ValueError, TypeError, AttributeError):
                stats["errors"] += 1
                continue
            stats["slds"] += len(slds)
            kept = apply_filter(slds, professional_cpt=cpt)
            stats["kept"] += len(kept)
            for s in kept:
                for code in s.claim_diagnosis_codes:
                    dx[s.patient_id].add(norm(code))
    return dx, stats


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cpt-year", type=int, default=2026)
    p.add_argument("--bench", action="store_true")
    p.add_argument("files", nargs="+")
    a = p.parse_args(argv)
    cpt = load_proc_filtering(f"ra_eligible_cpt_hcpcs_{a.cpt_year}.csv")
    if a.bench:
        import os

        size = sum(os.path.getsize(f) for f in a.files)
        t0 = time.perf_counter()
        c0 = time.process_time()
        dx, stats = run(a.files, cpt)
        secs = time.perf_counter() - t0
        cpu = time.process_time() - c0
        print(
            json.dumps(
                {
                    "bytes": size,
                    "seconds": secs,
                    "cpu_seconds": cpu,
                    "mb_per_s": size / 1e6 / secs,
                    "mb_per_cpu_s": size / 1e6 / cpu,
                    "members": len(dx),
                    **stats,
                }
            )
        )
        return 0
    dx, stats = run(a.files, cpt)
    for member in sorted(dx, key=lambda m: "" if m is None else m):
        print(json.dumps({"member_id": member, "dx": sorted(dx[member])}))
    print(json.dumps({"summary": stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
