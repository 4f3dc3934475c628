#!/usr/bin/env bash
# Shell completion benchmark: what a TAB costs, against `python -c "import typer"`.
# Usage (from the repo root): bash bench/completion.sh
# Uses the first `clm` and `python` on PATH, or $CLM / $PYTHON if set.
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results-completion.md"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/bench.db"
"$CLM" --db "$db" --today 2026-11-23 demo --customers 10000 >/dev/null 2>&1

py=$(printf %q "$PYTHON") clm=$(printf %q "$CLM") qdb=$(printf %q "$db")
ask() { echo "CLM_DB=$qdb _CLM_COMPLETE=bash_complete COMP_WORDS='$1' COMP_CWORD=$2 $clm >/dev/null"; }
hyperfine --warmup 3 --runs 30 --export-json "$tmp/completion.json" \
    -n 'import typer' "$py -c 'import typer' >/dev/null" \
    -n 'clm cust<TAB>' "$(ask 'clm cust' 1)" \
    -n 'clm customer show ac<TAB> (10k customers)' "$(ask 'clm customer show ac' 3)" \
    -n 'clm --as <TAB>' "$(ask 'clm --as ' 2)"

{
    echo "# clm completion benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)"
    echo
    "$PYTHON" - "$tmp/completion.json" <<'PY'
import json, sys

results = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: r["median"] for r in results}
print("| completing | median (s) | ratio to `import typer` |")
print("| --- | ---: | ---: |")
for cmd, m in med.items():
    print(f"| `{cmd}` | {m:.4f} | {m / med['import typer']:.2f}x |")
PY
    echo
    echo "Target: a completion answers in under 1.5x \`python -c \"import typer\"\`."
} | tee "$out"
