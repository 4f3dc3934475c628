#!/usr/bin/env bash
# Interactive reads (issue 26) on both bench books in one hyperfine run: the agenda of the
# whole book and of one CSM, `clm my`, `customer show`, against the stack floor and
# sqlite-utils' query of the same customer row.
# Usage (from the repo root): BOOK1=… BOOK2=… bash bench/reads.sh
# BOOK1/BOOK2: copies of two books (bench/run's book 1 and book 2; clm migrates them on first
# use). Uses the first `clm`, `python` and `sqlite-utils` on PATH, or $CLM, $PYTHON,
# $SQLITE_UTILS; $RUNS (10) sets hyperfine's runs; $USER1/$USER2 the CSMs (alice, custo01).
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}")
CLM=$(command -v "${CLM:-clm}")
UTILS=$(command -v "${SQLITE_UTILS:-sqlite-utils}")
runs=${RUNS:-10}
today=2026-11-23
out=${OUT:-/dev/stdout}
floor="import typer, rich.table, sqlalchemy"
"$PYTHON" -m compileall -q "$("$PYTHON" -c 'import clm, os; print(os.path.dirname(clm.__file__))')"

args=(-n "floor" "$PYTHON -c '$floor'")
for n in 1 2; do
    book=$(eval echo "\${BOOK$n}")
    user=$(eval echo "\${USER$n:-}")
    [[ -n $user ]] || { [[ $n == 1 ]] && user=alice || user=custo01; }
    "$CLM" --db "$book" --today "$today" >/dev/null  # migrated once, outside the timing
    slug=$(sqlite3 "$book" "SELECT slug FROM customers ORDER BY id LIMIT 1")
    row="select * from customers where slug = '$slug'"
    args+=(
        -n "b$n sqlite-utils query" "$UTILS query $book \"$row\""
        -n "b$n clm customer show" "$CLM --db $book --today $today customer show $slug"
        -n "b$n clm (agenda)" "$CLM --db $book --today $today"
        -n "b$n clm --as $user (agenda)" "$CLM --db $book --today $today --as $user"
        -n "b$n clm --as $user my" "$CLM --db $book --today $today --as $user my"
    )
done
echo "load before: $(uptime)" >&2
hyperfine -N --warmup 2 --runs "$runs" --style basic --export-json /tmp/reads-bench.json \
    "${args[@]}" >&2
echo "load after: $(uptime)" >&2
"$PYTHON" - /tmp/reads-bench.json <<'PY' >"$out"
import json, sys
from statistics import median
rows = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {k: median(r["times"]) for k, r in rows.items()}
cpu = {k: r["user"] + r["system"] for k, r in rows.items()}
print("| command | median (s) | CPU (s) | wall ratio | CPU ratio | peer | target |")
print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
for name in rows:
    if name == "floor" or "sqlite-utils" in name:
        print(f"| `{name}` | {med[name]:.3f} | {cpu[name]:.3f} | | | (peer) | |")
        continue
    book = name.split()[0]
    if "customer show" in name:
        peer, target = f"{book} sqlite-utils query", 1.2
    else:
        peer = "floor"
        target = 1.3 if "--as" in name and "my" not in name else 1.5 if "agenda" in name else 1.15
    w, c = med[name] / med[peer], cpu[name] / cpu[peer]
    verdict = "met" if w <= target else ("missed (CPU met)" if c <= target else "missed")
    print(f"| `{name}` | {med[name]:.3f} | {cpu[name]:.3f} | {w:.2f}x | {c:.2f}x | {peer} | ≤ {target}x: {verdict} |")
PY
