#!/usr/bin/env bash
# Build the macOS disk image of Clinic Ledger, on macOS 13+ (Apple silicon or Intel; the image
# is for the machine's own architecture):
#
#   packaging/build_macos.sh [--python PYTHON]
#
# 1. a build virtualenv (packaging/.build-venv) with the app and PyInstaller;
# 2. dist/Clinic Ledger.app from packaging/clinic-ledger.spec (icon and version in Info.plist);
# 3. --self-test run on the bundle's executable, not on the source tree;
# 4. signed with $CODESIGN_IDENTITY when it is set (a "Developer ID Application" certificate in
#    the keychain; notarize the image afterwards with xcrun notarytool); otherwise the ad-hoc
#    signature PyInstaller gives it, which opens after right-click > Open;
# 5. dist/Clinic-Ledger-<version>-macos-<arch>.dmg: the app and a link to /Applications.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYTHON=python3
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYTHON=$2; shift 2 ;;
    *) echo "usage: $0 [--python PYTHON]" >&2; exit 2 ;;
  esac
done

VENV="$ROOT/packaging/.build-venv"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$ROOT[package]"
VERSION=$("$VENV/bin/python" -c 'import desktop_app; print(desktop_app.__version__)')
ARCH=$(uname -m)

"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/clinic-ledger.spec"

APP="$ROOT/dist/Clinic Ledger.app"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
fi
(cd /tmp && "$APP/Contents/MacOS/clinic-ledger" --self-test)

STAGING=$(mktemp -d)
trap 'rm -rf "$STAGING"' EXIT
cp -R "$APP" "$STAGING/"
ln -s /Applications "$STAGING/Applications"
DMG="$ROOT/dist/Clinic-Ledger-$VERSION-macos-$ARCH.dmg"
rm -f "$DMG"
hdiutil create -volname "Clinic Ledger $VERSION" -srcfolder "$STAGING" -fs HFS+ -format UDZO -ov "$DMG"
echo "Built $DMG"
