#!/usr/bin/env bash
# Build the macOS disk image of Clinic Ledger, on macOS 13+ (Apple silicon or Intel; the image
# is for the machine's own architecture):
#
#   packaging/build_macos.sh [--python PYTHON] [--out DIR]
#
# 1. a build virtualenv (packaging/.build-venv) with the app and PyInstaller;
# 2. dist/Clinic Ledger.app from packaging/clinic-ledger.spec (icon and version in Info.plist);
# 3. --self-test run on the bundle's executable, not on the source tree;
# 4. signed with $CODESIGN_IDENTITY when it is set (a "Developer ID Application" certificate in
#    the keychain; notarize the image afterwards with xcrun notarytool); otherwise the ad-hoc
#    signature PyInstaller gives it, which opens after right-click > Open;
# 5. dist/Clinic-Ledger-<version>-macos-<arch>.dmg: the app and a link to /Applications.
set -euo pipefail
# shellcheck source=packaging/common.sh
source "$(dirname "$0")/common.sh"
parse_build_args "$@"
build_app

APP="$OUT/Clinic Ledger.app"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
fi
(cd /tmp && "$APP/Contents/MacOS/clinic-ledger" --self-test)

STAGING=$(mktemp -d)
trap 'rm -rf "$STAGING"' EXIT
cp -R "$APP" "$STAGING/"
ln -s /Applications "$STAGING/Applications"
DMG="$OUT/Clinic-Ledger-$VERSION-macos-$ARCH.dmg"
rm -f "$DMG"
hdiutil create -volname "Clinic Ledger $VERSION" -srcfolder "$STAGING" -fs HFS+ -format UDZO -ov "$DMG"
echo "Built $DMG"
