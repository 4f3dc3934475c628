#!/usr/bin/env bash
# Import and export benchmark: clm against sqlite-utils and the sqlite3 shell on the same csv
# files (the customers and milestones of a deterministic book), in the same hyperfine runs.
# Usage (from the repo root): bash bench/transfer.sh [SIZE]   (default: 100000 customers, so
# 1,000,000 milestones). The part `transfer` of bench/run; results in bench/results-transfer.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/run" --only transfer --sizes "${1:-100000}" --runs "${RUNS:-3}" \
    --out "$here/results-transfer.md"
