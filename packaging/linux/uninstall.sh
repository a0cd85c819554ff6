#!/usr/bin/env bash
# Remove Clinic Ledger's program files, launcher and menu entry. The clinic's database and backups
# (~/.local/share/Clinic Ledger) are never removed by this script.
set -euo pipefail
PREFIX=${PREFIX:-$HOME/.local}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
rm -rf "$PREFIX/opt/clinic-ledger"
rm -f "$PREFIX/bin/clinic-ledger" "$DATA/applications/clinic-ledger.desktop" \
  "$DATA/icons/hicolor/256x256/apps/clinic-ledger.png"
echo "Clinic Ledger removed. Your clinic's data in $DATA/Clinic Ledger was kept."
