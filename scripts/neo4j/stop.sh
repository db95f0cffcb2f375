#!/usr/bin/env bash
# Stop the project-local Neo4j server started by start.sh (clean shutdown, SIGKILL after a timeout).
# Pass --wipe to also delete its data folder.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if pid="$(neo4j_pid)"; then
  kill -TERM "$pid"
  for _ in $(seq 1 120); do
    proc_alive "$pid" || break
    sleep 0.5
  done
  if proc_alive "$pid"; then
    echo "neo4j: pid $pid did not stop within 60s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "neo4j: stopped (pid $pid)"
else
  echo "neo4j: not running"
fi
rm -f "$NEO4J_PID_FILE"
if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$NEO4J_DIR"
  echo "neo4j: removed $NEO4J_DIR"
fi
