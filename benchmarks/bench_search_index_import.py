"""What the patient search index costs a patients import: the same CSV imported into a new
clinic with the index's triggers (as the app runs) and with them dropped (the baseline), in
alternating order.

    .venv/bin/python benchmarks/bench_search_index_import.py --patients 50000 --runs 3
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from desktop_app.core import Clinic
from desktop_app.core.db.search_index import TRIGGERS
from desktop_app.core.interchange.importing import import_file

HEADER = "external_id,first_name,last_name,mobile,email,date_of_birth,address_line_1,city,postcode"


def write_csv(path: Path, patients: int, seed: int = 3) -> None:
    """``patients`` rows with a mobile, email, date of birth and address each."""
    rng = random.Random(seed)
    rows = [HEADER]
    for n in range(patients):
        born = f"19{rng.randrange(30, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"
        rows.append(
            f"P{n},First{n % 997},Last{n % 1009},04{rng.randrange(10**8):08d},"
            f"p{n}@gmail.com,{born},{n} Main St,Town,{rng.randrange(1000, 9999)}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def import_seconds(folder: Path, csv: Path, name: str, *, index: bool) -> float:
    """Seconds to import ``csv`` into a new clinic, with or without the index's triggers."""
    database = folder / f"{name}.db"
    with Clinic.open(f"sqlite:///{database}") as clinic:
        if not index:
            with sqlite3.connect(database) as raw:
                for trigger in TRIGGERS:
                    raw.execute(f"DROP TRIGGER {trigger}")
        start = time.perf_counter()
        import_file(clinic, "patients", csv)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        csv = folder / "patients.csv"
        write_csv(csv, args.patients)
        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(args.runs):
            for index in (True, False) if run % 2 == 0 else (False, True):
                times[index].append(import_seconds(folder, csv, f"{run}-{index}", index=index))
    ours, base = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"{args.patients:,} patients: {ours:.2f} s with the search index, {base:.2f} s without "
        f"({ours / base:.2f}x; medians of {args.runs}: {[round(t, 2) for t in times[True]]} "
        f"and {[round(t, 2) for t in times[False]]})"
    )


if __name__ == "__main__":
    main()
