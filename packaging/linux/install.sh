#!/usr/bin/env bash
# Install Clinic Ledger for the current user from this unpacked folder:
#   ./install.sh            -> ~/.local/opt/clinic-ledger, a launcher in ~/.local/bin,
#                              a menu entry and its icon
# An update is the same command from the new version's folder: the old program files are replaced;
# the clinic's database stays in the data folder (~/.local/share/Clinic Ledger) and is upgraded
# the first time the new version opens it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
TARGET="$PREFIX/opt/clinic-ledger"
DATA=${XDG_DATA_HOME:-$HOME/.local/share}

mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps"
if [ "$HERE" != "$TARGET" ]; then
  rm -rf "$TARGET.new"
  cp -a "$HERE" "$TARGET.new"
  rm -rf "$TARGET"
  mv "$TARGET.new" "$TARGET"
fi
ln -sf "$TARGET/clinic-ledger" "$PREFIX/bin/clinic-ledger"
install -m 644 "$TARGET/clinic-ledger.png" "$DATA/icons/hicolor/256x256/apps/clinic-ledger.png"
sed "s|^Exec=.*|Exec=\"$TARGET/clinic-ledger\"|" "$TARGET/clinic-ledger.desktop" \
  > "$DATA/applications/clinic-ledger.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "Clinic Ledger $(cat "$TARGET/VERSION") installed in $TARGET (run: clinic-ledger)."
