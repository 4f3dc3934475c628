#!/usr/bin/env bash
# The steady tick (2026-11-24) of several books in one hyperfine run, with the floor
# `python -c "import typer, rich.table, sqlalchemy"`: each run ticks a fresh copy of a book
# after its catch-up tick (2026-11-23), alone in a directory of its own (clm opens a db's
# siblings to look for conflicted copies).
# Usage: bash bench/steady.sh NAME=BOOK [NAME=BOOK ...]
#   e.g. b1-10k=/books/b1-10k-ticked.db b1-100k=/books/b1-100k-ticked.db (only copied)
# $CLM and $PYTHON (default: the first on PATH), $RUNS (10); $OUT, a JSON file to keep.
set -euo pipefail
PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
[[ $# -gt 0 ]] || { echo "usage: bash bench/steady.sh NAME=BOOK [NAME=BOOK ...]" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m compileall -q "$("$PYTHON" -c 'import clm, os; print(os.path.dirname(clm.__file__))')" >/dev/null
args=(--prepare true -n floor "$PYTHON -c 'import typer, rich.table, sqlalchemy'")
for pair in "$@"; do
    name=${pair%%=*} book=${pair#*=}
    [[ -f $book ]] || { echo "error: no book $book" >&2; exit 1; }
    mkdir -p "$tmp/$name"
    cp "$book" "$tmp/$name/base.db"
    "$CLM" --db "$tmp/$name/base.db" db migrate >/dev/null  # outside the timing
    rm -f "$tmp/$name"/*.bak
    w=$(printf %q "$tmp/$name/w.db")
    args+=(--prepare "cp $(printf %q "$tmp/$name/base.db") $w && sync $w" -n "steady tick $name"
           "$CLM --db $w --today 2026-11-24 tick -q -f json >/dev/null")
done
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-json "$tmp/steady.json" "${args[@]}" >&2
[[ -n ${OUT:-} ]] && cp "$tmp/steady.json" "$OUT"
"$PYTHON" - "$tmp/steady.json" <<'PY'
import json
import sys

results = json.load(open(sys.argv[1]))["results"]
floor = results[0]
cpu = {r["command"]: r["user"] + r["system"] for r in results}
print("| command | wall median s | CPU mean s | wall / floor | CPU / floor |")
print("| --- | ---: | ---: | ---: | ---: |")
for r in results:
    c = cpu[r["command"]]
    print(f"| {r['command']} | {r['median']:.3f} | {c:.3f} | "
          f"{r['median'] / floor['median']:.2f}x | {c / cpu['floor']:.2f}x |")
PY
