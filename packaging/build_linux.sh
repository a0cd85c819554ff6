#!/usr/bin/env bash
# Build the Linux package of Clinic Ledger on Linux (x86_64 or aarch64):
#
#   packaging/build_linux.sh [--python PYTHON] [--out DIR]
#
# 1. a build virtualenv (packaging/.build-venv) with the app and PyInstaller;
# 2. the one-folder build (packaging/clinic-ledger.spec) in dist/clinic-ledger/;
# 3. the folder made installable: the icon, a desktop entry and install.sh / uninstall.sh;
# 4. --self-test run on the built executable (not on the source tree);
# 5. dist/Clinic-Ledger-<version>-linux-<arch>.tar.gz.
#
# Needs Python 3.11+ with venv, and the system libraries Qt loads (see .ci/run for the Debian list).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYTHON=python3
OUT="$ROOT/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYTHON=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--python PYTHON] [--out DIR]" >&2; exit 2 ;;
  esac
done

VENV="$ROOT/packaging/.build-venv"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$ROOT[package]"
VERSION=$("$VENV/bin/python" -c 'import desktop_app; print(desktop_app.__version__)')
ARCH=$(uname -m)

# The build runs outside the source tree's import path, so the package comes from the venv.
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$OUT" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/clinic-ledger.spec"

APPDIR="$OUT/clinic-ledger"
install -m 644 "$ROOT/resources/clinic-ledger.png" "$APPDIR/clinic-ledger.png"
install -m 644 "$ROOT/resources/clinic-ledger.desktop" "$APPDIR/clinic-ledger.desktop"
install -m 755 "$ROOT/packaging/linux/install.sh" "$APPDIR/install.sh"
install -m 755 "$ROOT/packaging/linux/uninstall.sh" "$APPDIR/uninstall.sh"
printf '%s\n' "$VERSION" > "$APPDIR/VERSION"

# The smoke test, on the built binary, from a folder that is not the source tree.
(cd /tmp && env -u PYTHONPATH "$APPDIR/clinic-ledger" --self-test)

TARBALL="$OUT/Clinic-Ledger-$VERSION-linux-$ARCH.tar.gz"
tar -C "$OUT" -czf "$TARBALL" clinic-ledger
echo "Built $TARBALL ($(du -sh "$APPDIR" | cut -f1) unpacked, $(du -h "$TARBALL" | cut -f1) packed)"
