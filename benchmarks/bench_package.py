"""The packaged app: its size, and start-up of the built executable versus running from source.

    packaging/build_linux.sh                       # builds dist/clinic-ledger (once)
    .venv/bin/python benchmarks/bench_package.py [--runs 7] [--size 10000] [--readme]

Start-up is timed from launching a fresh process to the lines it prints (offscreen Qt): ``shown``
once the main window is painted and ``ready`` once the clinic's patients are listed (the app's
``CLINIC_LEDGER_STARTUP_PROBE=1``), on the benchmark database of ``--size`` invoices. Three
launches alternate in each run, so the machine's noise falls on all of them alike:

* baseline: an empty PySide6 window (the same script as ``bench_ui.py``);
* source: ``python -m desktop_app`` from this checkout's virtualenv;
* packaged: ``dist/clinic-ledger/clinic-ledger``, the one-folder build.

``--readme`` writes the table into ``benchmarks/README.md`` (between its package markers).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import generate
from bench_ui import EMPTY_WINDOW
from run_all import update_readme

ROOT = Path(__file__).resolve().parent.parent
BEGIN_MARK = "<!-- package:begin (written by benchmarks/bench_package.py) -->"
END_MARK = "<!-- package:end -->"
PROBE = "CLINIC_LEDGER_STARTUP_PROBE"


def folder_size(folder: Path) -> tuple[int, int]:
    """Bytes and number of files under ``folder``."""
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(sizes), len(sizes)


def time_launch(command: list[str]) -> dict[str, float]:
    """Seconds from starting ``command`` until each line it prints."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", PROBE: "1"}
    marks: dict[str, float] = {}
    start = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd="/tmp"
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            word = line.split()[0] if line.split() else ""
            marks[word] = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {child.returncode}")
    return marks


def mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", type=int, default=10_000, help="invoices in the database")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / "clinic-ledger")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    executable = args.dist / "clinic-ledger"
    if not executable.exists():
        raise SystemExit(f"{executable} is missing: build it with packaging/build_linux.sh")
    url = f"sqlite:///{generate.cached(args.size)}"
    launches = {
        "baseline": [sys.executable, "-c", EMPTY_WINDOW],
        "source": [sys.executable, "-m", "desktop_app", "--database", url],
        "packaged": [str(executable), "--database", url],
    }
    for command in launches.values():  # warm the file cache for all three
        time_launch(command)
    marks: dict[str, list[dict[str, float]]] = {name: [] for name in launches}
    for run in range(args.runs):
        order = list(launches) if run % 2 == 0 else list(reversed(launches))
        for name in order:
            marks[name].append(time_launch(launches[name]))

    def median(name: str, mark: str) -> float:
        return statistics.median(m[mark] for m in marks[name])

    folder_bytes, files = folder_size(args.dist)
    tarballs = sorted(args.dist.parent.glob("Clinic-Ledger-*-linux-*.tar.gz"))
    packed = tarballs[-1].stat().st_size if tarballs else None
    base = median("baseline", "shown")
    rows = [
        ("empty PySide6 window (baseline)", base, None),
        ("from source: `python -m desktop_app`", median("source", "shown"), "source"),
        ("packaged: `dist/clinic-ledger/clinic-ledger`", median("packaged", "shown"), "packaged"),
    ]
    lines = [
        BEGIN_MARK,
        "## The packaged app (issue 6)",
        "",
        "```",
        f".venv/bin/python benchmarks/bench_package.py --runs {args.runs} --size {args.size} "
        "--readme",
        "```",
        "",
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{args.runs} runs, the three launches alternating; database of "
        f"{args.size:,} invoices; offscreen Qt.",
        "",
        f"Size: the one-folder build is **{mb(folder_bytes)}** in {files:,} files"
        + (f"; the tarball `{tarballs[-1].name}` is **{mb(packed)}**." if packed else "."),
        "",
        "| start-up | window shown: median | ratio to baseline | patients listed: median | "
        "runs, shown (ms) |",
        "|---|---|---|---|---|",
    ]
    for title, shown, name in rows:
        key = name or "baseline"
        listed = ms(median(key, "ready")) if name else ""
        runs = ", ".join(f"{m['shown'] * 1000:.0f}" for m in marks[key])
        lines.append(f"| {title} | **{ms(shown)}** | {shown / base:.2f}x | {listed} | {runs} |")
    packaged, source = median("packaged", "shown"), median("source", "shown")
    lines += [
        "",
        f"The packaged app shows its window in {packaged / source:.2f}x the time the source "
        f"checkout takes ({ms(packaged)} vs {ms(source)}), and lists the patients in "
        f"{median('packaged', 'ready') / median('source', 'ready'):.2f}x.",
        END_MARK,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.readme:
        update_readme(section, BEGIN_MARK, END_MARK)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
