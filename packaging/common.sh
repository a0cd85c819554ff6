# Shared by packaging/build_linux.sh and packaging/build_macos.sh (sourced, not run).
#
#   parse_build_args "$@"   --python PYTHON (default python3), --out DIR (default dist/)
#   build_app               the build virtualenv, then PyInstaller; sets VERSION and ARCH
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=python3
OUT="$ROOT/dist"
VENV="$ROOT/packaging/.build-venv"

parse_build_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --python) PYTHON=$2; shift 2 ;;
      --out) case "$2" in /*) OUT=$2 ;; *) OUT="$PWD/$2" ;; esac; shift 2 ;;
      *) echo "usage: $0 [--python PYTHON] [--out DIR]" >&2; exit 2 ;;
    esac
  done
}

build_app() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "$ROOT[package]"
  VERSION=$("$VENV/bin/python" -c 'import desktop_app; print(desktop_app.__version__)')
  ARCH=$(uname -m)
  "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$OUT" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/clinic-ledger.spec"
}
