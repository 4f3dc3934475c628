#!/usr/bin/env bash
# The steady daily tick on PostgreSQL next to the same tick on SQLite, in one hyperfine run.
# Usage (from the repo root): bash bench/tick_pg.sh [N]   (default 100000 customers)
# Builds the book with make_book.py, runs the first (catch-up) tick on the file, copies the
# ticked book to the server with `clm db copy`, then times the next day's tick on a fresh
# copy of each every run. Needs a PostgreSQL server you may create databases on ($PGHOST etc.
# as libpq reads them); $BENCH_PGDB (clm_bench) names the databases it creates and drops.
# $STEADY_RUNS (5) sets hyperfine's run count. Writes bench/results-tick-pg.md.
# $BENCH_BOOK: tick a copy of this book instead of building one (the bench books, e.g.
# /work/bench-books/b1/book.db: never touched, clm migrates what it opens). $BENCH_KEEP: a
# directory where the ticked file and the server database ${db}_ticked are kept, and reused
# by the next run with the same $BENCH_KEEP (the slow part is the copy to the server); they
# are migrated to this clm's schema before the timed runs. $BENCH_PREPARE_ONLY=1: stop there.
# The server's tick runs twice: as the database's owner (above row-level security: RLS off)
# and as a `service` login role (`clm user grant`; RLS on), on the same clone each run.
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out=${BENCH_OUT:-"$here/results-tick-pg.md"}  # $BENCH_OUT: elsewhere (a trial size)
n=${1:-100000}
runs=${STEADY_RUNS:-5}
db=${BENCH_PGDB:-clm_bench}
today=2026-11-23
tomorrow=2026-11-24
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a number of customers" >&2; exit 1; }
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "error: BENCH_PGDB '$db' is not a plain name" >&2; exit 1; }
psql -Xq -d postgres -c "SELECT 1" >/dev/null || { echo "error: cannot reach PostgreSQL" >&2; exit 1; }

tmp=$(mktemp -d)
keep=${BENCH_KEEP:-}
cleanup() {
    rm -rf "$tmp"
    dropdb --if-exists "${db}_work" 2>/dev/null || true
    [[ -n $keep ]] && return
    dropdb --if-exists "${db}_ticked" 2>/dev/null || true
    psql -Xq -d postgres -c "DROP OWNED BY ${db}_svc; DROP ROLE IF EXISTS ${db}_svc" 2>/dev/null || true
}
trap cleanup EXIT

clm=$(printf %q "$CLM")
ticked="$tmp/ticked.db" work="$tmp/work.db"
svc="${db}_svc"  # the tick's service role (roles belong to the server: named after $db)
if [[ -n $keep ]]; then
    mkdir -p "$keep"
    ticked="$keep/ticked.db"
fi
if [[ -n $keep && -f $keep/ready ]]; then
    echo "== reusing $ticked and ${db}_ticked" >&2
else
    if [[ -n ${BENCH_BOOK:-} ]]; then
        echo "== $n customers: copying $BENCH_BOOK" >&2
        cp "$BENCH_BOOK" "$ticked"
    else
        echo "== $n customers: building the book" >&2
        "$PYTHON" "$here/make_book.py" "$n" "$ticked" --today "$today" --clm "$CLM" >&2
    fi
    echo "== the first tick, on the file" >&2
    "$CLM" --db "$ticked" --today "$today" tick -q -f json >/dev/null
    echo "== copying the ticked book to the server" >&2
    dropdb --if-exists "${db}_ticked" && createdb "${db}_ticked"
    start=$(date +%s.%N)
    "$CLM" --db "$ticked" db copy "postgresql:///${db}_ticked"
    echo "$(date +%s.%N) - $start" | bc >"$tmp/copy_s"
    "$CLM" --db "postgresql:///${db}_ticked" user add "$svc" >/dev/null
    "$CLM" --db "postgresql:///${db}_ticked" user grant "$svc" --role service >&2
    [[ -n $keep ]] && cp "$tmp/copy_s" "$keep/copy_s" && touch "$keep/ready"
fi
copy_s=$(cat "${keep:-$tmp}/copy_s")
[[ -n ${BENCH_PREPARE_ONLY:-} ]] && exit 0  # (with $BENCH_KEEP: the timed runs later)
"$CLM" --db "$ticked" db migrate >&2
"$CLM" --db "postgresql:///${db}_ticked" db migrate >&2
psql -Xq -d "${db}_ticked" -c "VACUUM ANALYZE" >&2

# Each run ticks a fresh copy: the file copied and synced, the server database cloned from
# the ticked one (FILE_COPY: a checkpoint and a file copy, far faster than WAL_LOG here).
q=$(printf %q "$work")
clone="dropdb --if-exists ${db}_work && psql -Xq -d postgres -c 'CREATE DATABASE ${db}_work TEMPLATE ${db}_ticked STRATEGY FILE_COPY'"
hyperfine --runs "$runs" --export-json "$tmp/steady.json" \
    --prepare "cp $(printf %q "$ticked") $q && sync $q" \
    -n "steady tick, SQLite ($n)" "$clm --db $q --today $tomorrow tick -q -f json >/dev/null" \
    --prepare "$clone" \
    -n "steady tick, PostgreSQL ($n)" \
    "CLM_DB=postgresql:///${db}_work $clm --today $tomorrow tick -q -f json >/dev/null" \
    --prepare "$clone" \
    -n "steady tick, PostgreSQL with RLS ($n)" \
    "PGOPTIONS='-c role=$svc' CLM_DB=postgresql:///${db}_work $clm --today $tomorrow tick -q -f json >/dev/null"

{
    echo "# clm steady tick: PostgreSQL vs SQLite"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)" \
        "· $(psql -XAtd postgres -c 'SHOW server_version')"
    echo
    "$PYTHON" - "$tmp/steady.json" "$n" "$copy_s" <<'PY'
import json, sys

results = json.load(open(sys.argv[1]))["results"]
n, copy_s = int(sys.argv[2]), float(sys.argv[3])
named = {r["command"]: r for r in results}
sqlite, pg, rls = (next(r for c, r in named.items() if c.startswith(f"steady tick, {name} ("))
                   for name in ("SQLite", "PostgreSQL", "PostgreSQL with RLS"))
print("| customers | SQLite median (min) s | PostgreSQL median (min) s | PostgreSQL / SQLite |")
print("| ---: | ---: | ---: | ---: |")
ratio = pg["median"] / sqlite["median"]
print(f"| {n:,} | {sqlite['median']:.3f} ({sqlite['min']:.3f}) | {pg['median']:.3f} "
      f"({pg['min']:.3f}) | {ratio:.2f}x |")
print()
print(f"`clm db copy` of the ticked book to the server: {copy_s:.0f} s.")
print(f"Target: PostgreSQL within 1.5x of SQLite: {'met' if ratio <= 1.5 else '**missed**'}.")
print()
on = rls["median"] / pg["median"]
print(f"The server's tick with row-level security on (a service role): {rls['median']:.3f} s "
      f"median ({rls['min']:.3f}), {on:.2f}x the tick without it (the owner). "
      f"Target 1.2x: {'met' if on <= 1.2 else '**missed**'}.")
PY
} | tee "$out"
