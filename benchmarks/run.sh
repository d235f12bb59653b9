#!/usr/bin/env bash
# Benchmarks: NiMARE 0.22.1 (own venv) vs biomark, same scenarios, same run; prints ratios.
#
#   bash benchmarks/run.sh                  # create/refresh the NiMARE venv, run every scenario
#   bash benchmarks/run.sh --venv-only      # only create benchmarks/.venv-nimare
#   bash benchmarks/run.sh --only fwe_synth25_c1 sub_synth25   # some scenarios
#   bash benchmarks/run.sh --tools nimare   # one side only
#   BENCH_QUICK=1 bash benchmarks/run.sh    # iteration counts / 10 (smoke test of the harness)
#
# NiMARE pins nilearn<0.14 and numba, so it lives in benchmarks/.venv-nimare (gitignored),
# never in .venv. Results: benchmarks/results/results.json (gitignored).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NVENV="$HERE/.venv-nimare"
REQ="$HERE/requirements-nimare.txt"
STAMP="$NVENV/.installed"
BIOMARK_PY="${BIOMARK_PY:-$REPO/.venv/bin/python}"

# Same search as the Makefile: pyenv 3.12.x, then python3.12 / python3.11 on PATH.
find_python() {
  local found
  found="$({ ls -d "$(pyenv root 2>/dev/null)"/versions/3.12.*/bin/python 2>/dev/null | sort -V
             command -v python3.12; command -v python3.11; } 2>/dev/null || true)"
  # the highest pyenv 3.12.x (sorted last) wins, then PATH; no head/tail in a pipefail pipeline
  local pyenv_pick path_pick
  pyenv_pick="$(grep '/versions/3\.12\.' <<<"$found" | sed -n '$p' || true)"
  path_pick="$(grep -v '/versions/' <<<"$found" | sed -n '1p' || true)"
  echo "${pyenv_pick:-$path_pick}"
}

if [[ ! -f "$STAMP" || "$REQ" -nt "$STAMP" ]]; then
  PY="${NIMARE_BASE_PYTHON:-$(find_python)}"
  if [[ -z "$PY" ]]; then
    echo "benchmarks: no Python 3.12 (or 3.11) found for the NiMARE venv" >&2
    exit 1
  fi
  echo "benchmarks: creating $NVENV with $PY ($("$PY" --version 2>&1))"
  t0=$SECONDS
  [[ -x "$NVENV/bin/python" ]] || "$PY" -m venv "$NVENV"
  "$NVENV/bin/python" -m pip install -q --upgrade pip
  "$NVENV/bin/python" -m pip install -q -r "$REQ"
  "$NVENV/bin/python" -c "import nimare; assert nimare.__version__ == '0.22.1', nimare.__version__"
  touch "$STAMP"
  echo "benchmarks: NiMARE venv ready in $((SECONDS - t0)) s"
fi

if [[ "${1:-}" == "--venv-only" ]]; then
  exit 0
fi

if [[ ! -x "$BIOMARK_PY" ]]; then
  echo "benchmarks: $BIOMARK_PY not found; run 'make venv' first (or set BIOMARK_PY)" >&2
  exit 1
fi

exec "$BIOMARK_PY" "$HERE/compare.py" run \
  --nimare-python "$NVENV/bin/python" --biomark-python "$BIOMARK_PY" "$@"
