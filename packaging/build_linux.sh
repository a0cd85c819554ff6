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
# shellcheck source=packaging/common.sh
source "$(dirname "$0")/common.sh"
parse_build_args "$@"
build_app

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
