#!/usr/bin/env bash
# Every benchmark on both databases, one after another (they share the demo databases).
set -euo pipefail
cd "$(dirname "$0")/.."
PATIENTS=${PATIENTS:-200000}
for script in worklists search pages; do
  .venv/bin/python "bench/$script.py" --patients "$PATIENTS" --backend both
done
