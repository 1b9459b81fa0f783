#!/usr/bin/env bash
# Create or refresh the repo's Python venv (.venv/) from scripts/requirements.txt.
#
# Idempotent: a second run with an unchanged requirements.txt only checks the stamp and exits.
# When requirements.txt changes (sha256 differs from .venv/.requirements.sha256), or the venv is
# missing or broken, .venv/ is rebuilt from scratch so packages dropped from the file go away.
#
# Env: PYTHON (interpreter to build the venv from, default python3; needs >= 3.10 for dbt).
# Usage: scripts/setup-python.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/scripts/requirements.txt"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"
force=0

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup-python: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

log() { echo "setup-python: $*"; }

[ -f "$req" ] || {
  echo "setup-python: missing $req" >&2
  exit 1
}
command -v "$python" > /dev/null || {
  echo "setup-python: '$python' not found (set PYTHON=...)" >&2
  exit 1
}
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || {
  echo "setup-python: $("$python" -V 2>&1) is too old; need Python >= 3.10" >&2
  exit 1
}

# Serialize concurrent runs (e.g. parallel CI steps) on a lock held on requirements.txt itself,
# so no extra file is left in the work tree.
if command -v flock > /dev/null; then
  exec 9< "$req"
  flock 9
fi

want="$("$python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$req")"
have="$(cat "$stamp" 2> /dev/null || true)"

if [ "$force" = 0 ] && [ "$want" = "$have" ] && "$venv/bin/python" -c '' 2> /dev/null; then
  log ".venv is up to date ($(basename "$req") sha256 ${want:0:12})"
  exit 0
fi

if [ -d "$venv" ]; then
  if [ "$force" = 1 ]; then
    log "--force: rebuilding .venv"
  elif [ -z "$have" ]; then
    log ".venv has no requirements stamp; rebuilding"
  else
    log "requirements.txt changed (${have:0:12} -> ${want:0:12}); rebuilding .venv"
  fi
  rm -rf -- "$venv"
fi

log "creating .venv with $("$python" -V 2>&1)"
"$python" -m venv "$venv"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
log "upgrading pip"
"$venv/bin/python" -m pip install --quiet --upgrade pip
log "installing $(grep -cEv '^[[:space:]]*(#|$)' "$req") pinned packages from scripts/requirements.txt (this takes a minute)"
"$venv/bin/python" -m pip install --quiet -r "$req"
log "checking dependency consistency"
"$venv/bin/python" -m pip check > /dev/null || {
  "$venv/bin/python" -m pip check >&2 || true
  echo "setup-python: pip check found conflicts" >&2
  exit 1
}

# Write the stamp last: an interrupted install leaves no stamp, so the next run rebuilds.
printf '%s\n' "$want" > "$stamp"
log "done: $("$venv/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("hccinfhir", "dbt-core", "dbt-duckdb", "dbt-bigquery", "duckdb")))')"
