"""The documents hold: every ``.md`` file the code, tests and docs name exists, and the invariants
of docs/ledger-rules.md ("Invariants") are exactly those Verify ledger reports."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "ledger-rules.md"
VERIFY = ROOT / "desktop_app" / "core" / "ledger" / "verify.py"

#: A name or path ending in ``.md`` (a Markdown link's target, a bare ``ledger-rules.md``,
#: ``docs/import-formats.md``); the part after a ``#`` is an anchor, not part of the name.
MD_NAME = re.compile(r"(?<![\w./-])((?:\.{1,2}/)?[\w.-]+(?:/[\w.-]+)*\.md)(?![\w])")


def repository_files() -> list[Path]:
    """Tracked files, and new ones not yet committed (ignored ones left out)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]


def resolves(name: str, source: Path, md_files: set[Path], md_names: set[str]) -> bool:
    """Whether ``name``, written in ``source``, names a Markdown file of the repository: relative
    to the file that names it, or to the repository's root; a bare name anywhere in it."""
    for base in (source.parent, ROOT):
        if (base / name).resolve() in md_files:
            return True
    return "/" not in name and name in md_names


def test_every_markdown_file_named_exists():
    files = repository_files()
    md_files = {path.resolve() for path in files if path.suffix == ".md"}
    md_names = {path.name for path in md_files}
    missing = []
    for path in files:
        if path.suffix not in {".py", ".md"}:
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            for match in MD_NAME.finditer(line):
                name = match.group(1)
                if line[: match.start()].rstrip().endswith(("://", "*")):
                    continue  # a web address, or a pattern such as *.md
                if not resolves(name, path, md_files, md_names):
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert missing == []


def test_the_checker_finds_a_missing_file():
    md_files = {RULES.resolve()}
    assert resolves("ledger-rules.md", VERIFY, md_files, {"ledger-rules.md"})
    assert resolves("docs/ledger-rules.md", VERIFY, md_files, set())
    assert not resolves("GONE" + ".md", VERIFY, md_files, {"ledger-rules.md"})
    assert MD_NAME.findall(
        "see [rules](../../docs/ledger-rules.md#invariants) and GONE" + ".md"
    ) == [
        "../../docs/ledger-rules.md",
        "GONE" + ".md",
    ]


def rulebook_invariants() -> list[str]:
    """The numbered invariants of the rulebook's "Invariants" section, in order."""
    text = RULES.read_text(encoding="utf-8")
    section = text.split("\n## Invariants\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- \*\*(I\d+)\*\* ", section, re.M)


def test_verify_reports_exactly_the_rulebooks_invariants():
    source = VERIFY.read_text(encoding="utf-8")
    reported = set(re.findall(r"\bf?\"(I\d+) ", source))
    documented = rulebook_invariants()
    assert documented == [f"I{n}" for n in range(1, len(documented) + 1)]  # numbered in order
    assert sorted(reported, key=lambda label: int(label[1:])) == documented
    # verify.py's own docstring summarises the same list.
    docstring = source.split('"""', 2)[1]
    assert re.findall(r"^(I\d+) ", docstring, re.M) == documented


def layout_modules(readme: str) -> set[str]:
    """The core's modules the README's Layout lists, as paths under ``desktop_app/core``: a
    folder line (``  ledger/``) opens a folder, its entries (``    store.py``) or the names on
    the folder's own lines (``  db/  models.py, engine.py, ...``) are in it."""
    layout = readme[readme.index("## Layout") :]
    block = layout.split("```")[1]
    core_lines = block[block.index("desktop_app/core/") :].splitlines()[1:]
    end = next(i for i, line in enumerate(core_lines) if line and not line.startswith(" "))
    listed: set[str] = set()
    folder = ""
    for line in core_lines[:end]:
        entry = re.match(r"^  (\S+)", line)
        inner = re.match(r"^    (\w+\.py)\b", line)
        if entry and entry.group(1).endswith("/"):
            folder = entry.group(1)
            listed.update(folder + name for name in re.findall(r"\b(\w+\.py)\b", line))
        elif entry:
            folder = ""
            listed.add(entry.group(1))
        elif inner:
            listed.add(folder + inner.group(1))
        elif line.startswith(" " * 20) and folder:  # a folder line's continuation
            listed.update(folder + name for name in re.findall(r"\b(\w+\.py)\b", line))
    return listed


def test_the_readme_layout_names_every_module_of_the_core():
    """The README's Layout is the map of the core: a module added or moved is listed there, in
    its folder, and nothing listed is gone."""
    core = ROOT / "desktop_app" / "core"
    modules = {
        str(path.relative_to(core))
        for path in core.rglob("*.py")
        if path.name != "__init__.py" and "migrations" not in path.parts
    }
    listed = layout_modules((ROOT / "README.md").read_text(encoding="utf-8"))
    assert modules - listed == set(), "not in the README's Layout"
    assert listed - modules == set(), "in the README's Layout but not in the core"
