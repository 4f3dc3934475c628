#!/usr/bin/env bash
# Reports benchmark: every `clm report` on a 100,000-customer book with a stage history,
# against the dependency floor `python -c "import typer, rich.table, sqlalchemy"` in the same
# hyperfine run. Usage (from the repo root): bash bench/reports.sh [N]   (default 100000)
# Uses the first `clm` and `python` on PATH, or $CLM / $PYTHON if set; $RUNS (5) sets the
# run count; $BOOK reuses a book made by make_book.py or make_book2.py (it is copied, never
# changed); $OUT names the results file (bench/results-reports.md).
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/results-reports.md}
n=${1:-100000}
runs=${RUNS:-5}
today=2026-11-23
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a number of customers" >&2; exit 1; }
if ! "$PYTHON" -c "import typer, rich.table, sqlalchemy" 2>/dev/null; then
    echo "error: $PYTHON cannot import typer, rich, sqlalchemy (activate the venv or set PYTHON)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
book="$tmp/book.db"
if [[ -n ${BOOK:-} ]]; then
    cp "$BOOK" "$book"
else
    echo "== building a book of $n customers" >&2
    "$PYTHON" "$here/make_book.py" "$n" "$book" --today "$today" --clm "$CLM"
fi
# make_book.py gives each customer its current stay only: add the stays before it.
"$PYTHON" - "$book" "$here/history.sql" <<'EOF'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.executescript(open(sys.argv[2]).read())
print(f"{conn.execute('SELECT count(*) FROM transitions').fetchone()[0]:,} transitions",
      file=sys.stderr)
EOF
# Migrated (an older book gets its ARR log seeded), then an ARR history of realistic volume.
"$CLM" --db "$book" --today $today stage list >/dev/null
"$PYTHON" - "$book" "$here/arr_history.sql" <<'EOF'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.executescript(open(sys.argv[2]).read())
print(f"{conn.execute('SELECT count(*) FROM arr_log').fetchone()[0]:,} ARR changes",
      file=sys.stderr)
EOF
# clm byte-compiled, as pip installs it: an editable install under PYTHONDONTWRITEBYTECODE
# would compile each of its modules from source on every run (about 0.1 s), the floor's never.
"$PYTHON" -m compileall -q "$("$PYTHON" -c 'import clm, os; print(os.path.dirname(clm.__file__))')" \
    >/dev/null
load=$(uptime | sed 's/.*load average: //')

py=$(printf %q "$PYTHON") clm="$(printf %q "$CLM") --db $(printf %q "$book") --today $today"
page=$(printf %q "$tmp/dashboard.html")
hyperfine --warmup 1 --runs "$runs" --export-json "$tmp/reports.json" \
    -n "import typer, rich.table, sqlalchemy" "$py -c 'import typer, rich.table, sqlalchemy' >/dev/null" \
    -n "report stages" "$clm report stages >/dev/null" \
    -n "report stages --as-of" "$clm report stages --as-of 2026-06-30 >/dev/null" \
    -n "report funnel" "$clm report funnel >/dev/null" \
    -n "report funnel --as-of" "$clm report funnel --since 2026-01-01 --as-of 2026-06-30 >/dev/null" \
    -n "report time-in-stage" "$clm report time-in-stage >/dev/null" \
    -n "report renewals" "$clm report renewals >/dev/null" \
    -n "report overdue" "$clm report overdue >/dev/null" \
    -n "report handoffs" "$clm report handoffs >/dev/null" \
    -n "report flows" "$clm report flows >/dev/null" \
    -n "report retention" "$clm report retention --period 2026 >/dev/null" \
    -n "report retention --every --by" "$clm report retention --period 2026 --every quarter --by owner >/dev/null" \
    -n "report forecast" "$clm report forecast --quarters 4 >/dev/null" \
    -n "report churn" "$clm report churn --period 2026 >/dev/null" \
    -n "report cohorts" "$clm report cohorts >/dev/null" \
    -n "report dashboard" "$clm report dashboard --html $page --force >/dev/null 2>&1"

{
    echo "# clm reports benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)" \
        "· load average before: $load, after: $(uptime | sed 's/.*load average: //')"
    echo
    "$PYTHON" - "$tmp/reports.json" "$n" <<'EOF'
import json, sys

results = json.load(open(sys.argv[1]))["results"]
floor, floor_cpu = results[0]["median"], results[0]["user"] + results[0]["system"]
print("| command | median (s) | min (s) | median / floor | CPU (user+sys, s) | CPU / floor |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
worst = worst_cpu = revenue = 0
REVENUE = ("report retention", "report forecast", "report churn", "report cohorts")
for r in results:
    ratio, cpu = r["median"] / floor, r["user"] + r["system"]
    if r is not results[0] and r["command"] != "report dashboard":
        worst, worst_cpu = max(worst, ratio), max(worst_cpu, cpu / floor_cpu)
    if r["command"].startswith(REVENUE):
        revenue = max(revenue, ratio)
    shown = ("(floor)", "(floor)") if r is results[0] else (f"{ratio:.2f}x",
                                                             f"{cpu / floor_cpu:.2f}x")
    print(f"| `{r['command']}` | {r['median']:.3f} | {r['min']:.3f} | {shown[0]} | {cpu:.3f} "
          f"| {shown[1]} |")
print()
verdict = "met" if worst <= 4 else "**missed**"
print(f"Target: every report within 4x the floor on {int(sys.argv[2]):,} customers; "
      f"the slowest is {worst:.2f}x by median wall time ({worst_cpu:.2f}x by CPU time): "
      f"{verdict}. The dashboard runs them all.")
print(f"Revenue reports (issue 23): within 3x the floor; the slowest is {revenue:.2f}x: "
      f"{'met' if revenue <= 3 else '**missed**'}.")
EOF
    echo
    echo "Book: ${BOOK:-\`bench/make_book.py $n\` (today $today, seed 1)} with" \
        "\`bench/history.sql\` (about three stays per contract customer) and" \
        "\`bench/arr_history.sql\` (ARR changes every six months); tables printed to a pipe."
} | tee "$out"
