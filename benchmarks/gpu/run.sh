#!/usr/bin/env bash
# The prepared GPU run of issue 16 (see benchmarks/gpu/kge_gpu.py): at most ~9 minutes on one GPU.
#
#   bash benchmarks/gpu/run.sh --out OUT --data DATASETS [--wheels DIR] [kge_gpu.py options]
#   bash benchmarks/gpu/run.sh --smoke --out /tmp/kge-smoke      # every step tiny, on the CPU
#
# It reaches no network. --wheels DIR installs Python wheels carried with the run (e.g. PyKEEN and its
# pure-Python needs, for a machine whose Python has torch but not PyKEEN) into a private folder with
# pip --no-index; nothing else is installed. PYTHON picks the interpreter (default: the project's .venv
# if present, else python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

args=()
wheels=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) wheels="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if [ -n "$wheels" ]; then
  site="$(mktemp -d)/site"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$wheels"/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
exec "$PYTHON" benchmarks/gpu/kge_gpu.py "${args[@]}"
