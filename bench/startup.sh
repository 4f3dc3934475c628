#!/usr/bin/env bash
# Startup benchmark: clm commands against the bare imports they are built on.
# Usage (from the repo root): bash bench/startup.sh
# Uses the first `clm` and `python` on PATH, or $CLM / $PYTHON if set. $BOOK names a large
# book made by bench/make_book.py (else one of $BOOK_SIZE customers, 100000, is built: about
# 100 s); $RUNS (15) sets hyperfine's runs.
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results-startup.md"
runs=${RUNS:-15}
size=${BOOK_SIZE:-100000}
today=2026-11-23

if ! "$PYTHON" -c "import typer, rich.table, sqlalchemy" 2>/dev/null; then
    echo "error: $PYTHON cannot import typer, rich, sqlalchemy (activate the venv or set PYTHON)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/bench.db"
"$CLM" --db "$db" --today "$today" demo --customers 500 >/dev/null 2>&1
book=${BOOK:-}
if [[ -z $book ]]; then
    book="$tmp/book.db"
    echo "== building a $size-customer book (set BOOK to reuse one)" >&2
    "$PYTHON" "$here/make_book.py" "$size" "$book" --today "$today" --clm "$CLM" >&2
fi
[[ -s $book ]] || { echo "error: no book at '$book'" >&2; exit 1; }
# Its size, the customer in its middle, and the user who owns the fewest customers (a
# person's agenda, not a team lead's thousands).
read -r size slug who < <("$PYTHON" - "$book" <<'EOF'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
size = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
slug = conn.execute("SELECT slug FROM customers ORDER BY id LIMIT 1 OFFSET ?", (size // 2,)).fetchone()[0]
who = conn.execute(
    "SELECT u.handle FROM users u JOIN customers c ON c.owner_id = u.id"
    " GROUP BY u.id ORDER BY count(*), u.handle LIMIT 1"
).fetchone()[0]
print(size, slug, who)
EOF
)

# clm's own modules compiled, as an installed clm has them (PYTHONDONTWRITEBYTECODE would
# otherwise make every run compile them again).
"$PYTHON" -m compileall -q "$("$PYTHON" -c 'import clm, os; print(os.path.dirname(clm.__file__))')"

# Every command runs through the same shell, with the same redirection, so the
# shell's cost (which hyperfine subtracts anyway) is equal for peers and clm.
py=$(printf %q "$PYTHON") clm=$(printf %q "$CLM") qdb=$(printf %q "$db") qbook=$(printf %q "$book")
floor="import typer, rich.table, sqlalchemy"
hyperfine --warmup 3 --runs "$runs" --export-json "$tmp/startup.json" \
    -n 'import typer' "$py -c 'import typer' >/dev/null" \
    -n 'clm --help' "$clm --help >/dev/null" \
    -n 'clm --version' "$clm --version >/dev/null" \
    -n "$floor" "$py -c '$floor' >/dev/null" \
    -n 'clm customer list' "$clm --db $qdb customer list >/dev/null" \
    -n 'clm customer show acme-corp' "$clm --db $qdb customer show acme-corp >/dev/null" \
    -n 'clm my' "$clm --db $qdb --today $today --as alice my >/dev/null" \
    -n "clm customer show (book)" "$clm --db $qbook customer show $slug >/dev/null" \
    -n "clm my (book)" "$clm --db $qbook --today $today --as $who my >/dev/null" \
    -n "clm customer list --limit 50 (book)" "$clm --db $qbook customer list --limit 50 >/dev/null"
# The whole book listed (issue 10: within the same 1.15x): a second run, of its own.
hyperfine --warmup 1 --runs 5 --export-json "$tmp/list.json" \
    -n "$floor" "$py -c '$floor' >/dev/null" \
    -n "clm customer list (book)" "$clm --db $qbook customer list >/dev/null"

peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident/ {print $NF}'; }
mem_floor=$(peak_kb "$PYTHON" -c "$floor")
mem_list=$(peak_kb "$CLM" --db "$db" customer list)
mem_show=$(peak_kb "$CLM" --db "$book" customer show "$slug")
mem_book=$(peak_kb "$CLM" --db "$book" customer list)

{
    echo "# clm startup benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)"
    echo
    echo "Demo book: 500 customers. Book: $size customers (\`$slug\`, \`--as $who\`)."
    echo
    "$PYTHON" - "$tmp/startup.json" "$tmp/list.json" <<'EOF'
import json, sys

FLOOR = "import typer, rich.table, sqlalchemy"
TARGET = {"import typer": 1.3, FLOOR: 1.15}
rows = []
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    med = {r["command"]: r["median"] for r in results}
    for r in results:
        cmd = r["command"]
        if cmd in TARGET and rows and any(c == cmd for c, *_ in rows):
            continue  # a peer measured again: shown once, each ratio against its own run
        if cmd.startswith("clm --"):
            peer = "import typer"
        elif cmd.startswith("clm"):
            peer = FLOOR
        else:
            peer = None
        ratio = med[cmd] / med[peer] if peer else None
        rows.append((cmd, r["median"], r["min"], peer, ratio))
print("| command | median (s) | min (s) | median ratio to peer | target |")
print("| --- | ---: | ---: | --- | --- |")
for cmd, m, low, peer, ratio in rows:
    if peer is None:
        print(f"| `{cmd}` | {m:.4f} | {low:.4f} | (peer) | |")
        continue
    target = TARGET[peer]
    if cmd == "clm customer show (book)":
        target = 1.2
    verdict = "" if target is None else (f"≤ {target}x " + ("met" if ratio <= target else "**missed**"))
    print(f"| `{cmd}` | {m:.4f} | {low:.4f} | {ratio:.2f}x `{peer}` | {verdict} |")
EOF
    echo
    echo "Peak RSS: \`$floor\` ${mem_floor} KB; \`clm customer list\` (500) ${mem_list} KB;" \
        "\`clm customer show\` (book) ${mem_show} KB; \`clm customer list\` (book) ${mem_book} KB."
    echo
    echo "Targets: \`clm --help\`, \`--version\` ≤ 1.3x \`import typer\`; database commands ≤ 1.15x the" \
        "floor import, the whole book listed included; \`customer show\` on the book ≤ 1.2x."
} | tee "$out.new"
# Keep the hand-written sections below the table (from "## " on) across runs.
if [[ -f $out ]] && grep -q '^## ' "$out"; then
    { echo; sed -n '/^## /,$p' "$out"; } >>"$out.new"
fi
mv "$out.new" "$out"
