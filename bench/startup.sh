#!/usr/bin/env bash
# Startup benchmark: clm commands against the bare imports they are built on.
# Usage (from the repo root): bash bench/startup.sh
# Uses the first `clm` and `python` on PATH, or $CLM / $PYTHON if set.
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results.md"

if ! "$PYTHON" -c "import typer, rich.table, sqlmodel" 2>/dev/null; then
    echo "error: $PYTHON cannot import typer, rich, sqlmodel (activate the venv or set PYTHON)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/bench.db"
"$CLM" --db "$db" --today 2026-11-23 demo --customers 500 >/dev/null 2>&1

# Every command runs through the same shell, with the same redirection, so the
# shell's cost (which hyperfine subtracts anyway) is equal for peers and clm.
py=$(printf %q "$PYTHON") clm=$(printf %q "$CLM") qdb=$(printf %q "$db")
hyperfine --warmup 3 --runs 15 --export-json "$tmp/startup.json" \
    -n 'import typer' "$py -c 'import typer' >/dev/null" \
    -n 'clm --help' "$clm --help >/dev/null" \
    -n 'clm --version' "$clm --version >/dev/null" \
    -n 'import typer, rich.table, sqlmodel' "$py -c 'import typer, rich.table, sqlmodel' >/dev/null" \
    -n 'clm customer list' "$clm --db $qdb customer list >/dev/null" \
    -n 'clm customer show acme-corp' "$clm --db $qdb customer show acme-corp >/dev/null"

peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident/ {print $NF}'; }
mem_floor=$(peak_kb "$PYTHON" -c "import typer, rich.table, sqlmodel")
mem_list=$(peak_kb "$CLM" --db "$db" customer list)

{
    echo "# clm startup benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)"
    echo
    "$PYTHON" - "$tmp/startup.json" <<'EOF'
import json, sys

results = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: r["median"] for r in results}
low = {r["command"]: r["min"] for r in results}
peer = {
    "clm --help": "import typer",
    "clm --version": "import typer",
    "clm customer list": "import typer, rich.table, sqlmodel",
    "clm customer show acme-corp": "import typer, rich.table, sqlmodel",
}
print("| command | median (s) | min (s) | median ratio to peer |")
print("| --- | ---: | ---: | --- |")
for cmd, m in med.items():
    ratio = f"{m / med[peer[cmd]]:.2f}x `{peer[cmd]}`" if cmd in peer else "(peer)"
    print(f"| `{cmd}` | {m:.4f} | {low[cmd]:.4f} | {ratio} |")
EOF
    echo
    echo "Peak RSS: \`clm customer list\` (500 customers) ${mem_list} KB;" \
        "\`import typer, rich.table, sqlmodel\` ${mem_floor} KB."
    echo
    echo "Targets: \`clm --help\` ≤ 1.3x \`import typer\`; database commands ≤ 1.15x the floor import."
} | tee "$out"
