#!/usr/bin/env bash
# Tick benchmark: the first (catch-up) tick and the steady daily tick on large books.
# Usage (from the repo root): bash bench/tick.sh [SIZES]   (default: "10000 100000")
# Uses the first `clm` and `python` on PATH, or $CLM / $PYTHON if set. $FIRST_RUNS (3) and
# $STEADY_RUNS (5) set hyperfine's run counts. $BOOK_CACHE=DIR keeps the books built there
# (one per size and version of make_book.py) for the next run.
set -euo pipefail

PYTHON=$(command -v "${PYTHON:-python}") || { echo "error: no python on PATH (set PYTHON)" >&2; exit 1; }
CLM=$(command -v "${CLM:-clm}") || { echo "error: no clm on PATH (set CLM)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results-tick.md"
sizes=${*:-10000 100000}
first_runs=${FIRST_RUNS:-3}
steady_runs=${STEADY_RUNS:-5}
today=2026-11-23
tomorrow=2026-11-24
for n in $sizes; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a number of customers" >&2; exit 1; }
done

if ! "$PYTHON" -c "import typer, rich.table, sqlalchemy" 2>/dev/null; then
    echo "error: $PYTHON cannot import typer, rich, sqlalchemy (activate the venv or set PYTHON)" >&2
    exit 1
fi

# Time clm as it is installed: with its modules' bytecode compiled. (With PYTHONDONTWRITEBYTECODE
# in the environment, every run would otherwise compile clm's 40 modules from source, ~0.1 s
# of CPU the floor's installed packages do not pay.)
# (From /, so that a clm source tree in the current directory does not shadow the one run.)
clm_dir=$(cd / && "$PYTHON" -c 'import clm, os; print(os.path.dirname(clm.__file__))')
"$PYTHON" -m compileall -q "$clm_dir" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# What people wrote below the numbers (from a line starting `<!-- notes`) survives a new run.
notes=""
if [[ -f $out ]]; then
    notes=$(sed -n '/^<!-- notes/,$p' "$out")
fi

py=$(printf %q "$PYTHON") clm=$(printf %q "$CLM")
floor="$py -c 'import typer, rich.table, sqlalchemy' >/dev/null"
peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident/ {print $NF}'; }

for n in $sizes; do
    dir="$tmp/$n"
    mkdir -p "$dir"
    pristine="$dir/pristine.db" work="$dir/work.db" ticked="$dir/after-first-tick.db"
    if [[ -n ${BOOK_CACHE:-} ]]; then
        mkdir -p "$BOOK_CACHE"
        cached="$BOOK_CACHE/book-$n-$today-$(sha1sum "$here/make_book.py" | cut -c1-12).db"
        if [[ ! -f $cached ]]; then
            echo "== $n customers: building the book into $cached" >&2
            rm -f "$cached.tmp"
            "$PYTHON" "$here/make_book.py" "$n" "$cached.tmp" --today "$today" --clm "$CLM" \
                2>"$cached.json"
            mv "$cached.tmp" "$cached"
        fi
        echo "== $n customers: the book from $cached" >&2
        cp "$cached" "$pristine"
        # A book cached by an older clm: migrated once here, not inside every timed tick.
        "$CLM" --db "$pristine" db migrate >/dev/null
        rm -f "$pristine".before-*.bak
        cp "$cached.json" "$dir/book.json"
    else
        echo "== $n customers: building the book" >&2
        "$PYTHON" "$here/make_book.py" "$n" "$pristine" --today "$today" --clm "$CLM" \
            2>"$dir/book.json"
    fi
    cat "$dir/book.json" >&2
    q=$(printf %q "$work")

    # The first tick catches up on a fresh copy of the book every run. The copy is synced
    # first: else the tick's fsync at commit would also write out the whole copy.
    hyperfine --runs "$first_runs" --export-json "$dir/first.json" \
        --prepare "cp $(printf %q "$pristine") $q && sync $q" \
        -n "first tick ($n)" "$clm --db $q --today $today tick -q -f json >/dev/null"

    # Once more to keep its result (the steady tick's starting point), its peak RSS and news.
    cp "$pristine" "$ticked"
    /usr/bin/time -v "$CLM" --db "$ticked" --today "$today" tick -q -f json \
        >"$dir/first-news.json" 2>"$dir/first-time.txt"
    awk '/Maximum resident/ {print $NF}' "$dir/first-time.txt" >"$dir/first-rss"

    # The steady tick: the next day, on a fresh copy of the ticked book every run, next to
    # the dependency floor in the same hyperfine run.
    hyperfine --warmup 1 --runs "$steady_runs" --export-json "$dir/steady.json" \
        --prepare "true" --prepare "cp $(printf %q "$ticked") $q && sync $q" \
        -n "import typer, rich.table, sqlalchemy" "$floor" \
        -n "steady tick ($n)" "$clm --db $q --today $tomorrow tick -q -f json >/dev/null"

    cp "$ticked" "$work"
    /usr/bin/time -v "$CLM" --db "$work" --today "$tomorrow" tick -q -f json \
        >"$dir/steady-news.json" 2>"$dir/steady-time.txt"
    awk '/Maximum resident/ {print $NF}' "$dir/steady-time.txt" >"$dir/steady-rss"
    peak_kb "$PYTHON" -c "import typer, rich.table, sqlalchemy" >"$dir/floor-rss"
    rm -f "$work" "$pristine"
done

{
    echo "# clm tick benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) CPUs · $("$PYTHON" -V 2>&1)"
    echo
    # shellcheck disable=SC2086  # one argument per size
    "$PYTHON" - "$tmp" $sizes <<'EOF'
import json, sys
from pathlib import Path

tmp, sizes = Path(sys.argv[1]), [int(s) for s in sys.argv[2:]]


def load(n, name):
    return json.loads((tmp / str(n) / name).read_text())


def med(n, name, prefix):
    (result,) = [r for r in load(n, name)["results"] if r["command"].startswith(prefix)]
    return result["median"], result["min"]


def cpu(n, name, prefix):
    """Mean user + system seconds: what a shared machine's load does not inflate."""
    (result,) = [r for r in load(n, name)["results"] if r["command"].startswith(prefix)]
    return result["user"] + result["system"]


def kb(n, name):
    return int((tmp / str(n) / name).read_text().strip())


def news(n, name):
    text = (tmp / str(n) / name).read_text().strip()
    counts = {"transitions": 0, "reminders": 0, "tasks_created": 0, "overdue": 0}
    for line in text.splitlines():  # one JSON object per day, none on a quiet day (-q)
        obj = json.loads(line)
        for key in counts:
            counts[key] += len(obj[key])
    return counts


rows = {}
for n in sizes:
    book = json.loads((tmp / str(n) / "book.json").read_text().strip().splitlines()[-1])
    rows[n] = {
        "book": book["seconds"]["total"],
        "mb": book["mb"],
        "first": med(n, "first.json", "first tick"),
        "steady": med(n, "steady.json", "steady tick"),
        "floor": med(n, "steady.json", "import"),
        "cpu": (cpu(n, "first.json", "first tick"), cpu(n, "steady.json", "steady tick"),
                cpu(n, "steady.json", "import")),
        "rss": (kb(n, "first-rss"), kb(n, "steady-rss"), kb(n, "floor-rss")),
        "news": (news(n, "first-news.json"), news(n, "steady-news.json")),
    }

print("| customers | book build (s) | db (MB) | first tick median (min) s | "
      "steady tick median (min) s | floor median s | steady / floor | "
      "peak RSS first / steady / floor (MB) |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for n, r in rows.items():
    rss = " / ".join(f"{v / 1024:.0f}" for v in r["rss"])
    print(f"| {n:,} | {r['book']:.1f} | {r['mb']:.0f} | {r['first'][0]:.2f} ({r['first'][1]:.2f})"
          f" | {r['steady'][0]:.3f} ({r['steady'][1]:.3f}) | {r['floor'][0]:.3f}"
          f" | {r['steady'][0] / r['floor'][0]:.2f}x | {rss} |")
print()
print("CPU seconds (user + system, mean), which the machine's other load does not inflate:")
print()
print("| customers | first tick | steady tick | floor | steady / floor |")
print("| ---: | ---: | ---: | ---: | ---: |")
for n, r in rows.items():
    first_cpu, steady_cpu, floor_cpu = r["cpu"]
    print(f"| {n:,} | {first_cpu:.2f} | {steady_cpu:.3f} | {floor_cpu:.3f} "
          f"| {steady_cpu / floor_cpu:.2f}x |")
print()
print("What each tick did (transitions, reminders fired, tasks created; overdue rows listed):")
print()
print("| customers | first tick | steady tick |")
print("| ---: | --- | --- |")
for n, r in rows.items():
    cells = [", ".join(f"{v:,} {k.replace('_created', '')}" for k, v in c.items())
             for c in r["news"]]
    print(f"| {n:,} | {cells[0]} | {cells[1]} |")
print()


def verdict(ok):
    return "met" if ok else "**missed**"


small, large = min(rows), max(rows)
print("Targets:")
print()
if small != large:
    ratio = rows[large]["steady"][0] / rows[small]["steady"][0]
    print(f"- steady tick on {large:,} / on {small:,} customers: {ratio:.2f}x "
          f"(target ≤ 1.5x for a book 10x larger; this one is {large / small:g}x): "
          f"{verdict(ratio <= 1.5)}; in CPU time "
          f"{rows[large]['cpu'][1] / rows[small]['cpu'][1]:.2f}x")
ratio = rows[large]["steady"][0] / rows[large]["floor"][0]
print(f"- steady tick on {large:,} customers / the floor import: {ratio:.2f}x (target ≤ 2x): "
      f"{verdict(ratio <= 2)}; in CPU time {rows[large]['cpu'][1] / rows[large]['cpu'][2]:.2f}x")
first = rows[large]["first"][0]
print(f"- first tick on {large:,} customers: {first:.1f} s (target < 20 s): {verdict(first < 20)}")
EOF
    echo
    echo "Books by \`bench/make_book.py\` (today $today, seed 1, 10 milestones per customer);" \
        "the steady tick runs on $tomorrow after the first tick. Floor:" \
        "\`python -c \"import typer, rich.table, sqlalchemy\"\`, in the steady tick's hyperfine run."
    if [[ -n $notes ]]; then
        echo
        echo "$notes"
    fi
} | tee "$out"
