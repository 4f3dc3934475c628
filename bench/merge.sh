#!/usr/bin/env bash
# `db merge` of two diverged 100k copies: peak memory (GNU time's max RSS) and CPU seconds of
# two clm trees, the same report and the same merged book (a checksum of each table's rows).
# Usage: bash bench/merge.sh BOOK OLD_TREE NEW_TREE [SCRATCH]
#   BOOK: a book after its first tick (e.g. /work/books/tk/b1-base.db; it is only copied).
# Copy A is ticked 2026-11-24, copy B 2026-11-25, and both edit a few customers apart (a field
# each, a tag each, a delete there, the same new slug and user handle on both sides, a move on
# both). Each run merges B into a fresh copy of A. Clock stamps written by the merge itself (a
# slug that gives way) and the hlc in clm_meta differ between runs: compare those by eye.
set -euo pipefail
book=$1 old=$2 new=$3 dir=${4:-/tmp/clm-merge-bench}
clm=${CLM:-/work/main/.venv/bin/clm}
mkdir -p "$dir" && cd "$dir"
run() { PYTHONPATH=$old "$clm" "$@"; }
if [ ! -f a0.db ]; then
    cp "$book" a0.db && cp "$book" b0.db
    A=(--db a0.db --today 2026-11-24) B=(--db b0.db --today 2026-11-25)
    run "${A[@]}" tick -q -f json >/dev/null
    run "${B[@]}" tick -q -f json >/dev/null
    first=$(sqlite3 a0.db "select slug from customers order by id limit 1")
    run "${A[@]}" customer edit "$first" --name "Edited in A" --tag alpha --arr 1234
    run "${B[@]}" customer edit "$first" --name "Edited in B" --tag beta --health 55
    gone=$(sqlite3 a0.db "select slug from customers order by id limit 1 offset 4")
    run "${B[@]}" customer rm "$gone" --yes
    run "${A[@]}" customer edit "$gone" --arr 99
    run "${A[@]}" customer add "Same Name Co"
    run "${B[@]}" customer add "Same Name Co"
    run "${A[@]}" user add zed --name "Zed A"
    run "${B[@]}" user add zed --name "Zed B"
    milestone=$(sqlite3 a0.db "select id from milestones where status = 'open' limit 1")
    run "${A[@]}" milestone edit "$milestone" --remind 3d
    run "${B[@]}" milestone done "$milestone"
fi >/dev/null
sums() {
    for t in $(sqlite3 "$1" "select name from sqlite_master where type = 'table' order by name"); do
        printf '%s %s\n' "$t" "$(sqlite3 -cmd '.mode quote' "$1" "select * from \"$t\"" | sort | md5sum | cut -c1-12)"
    done
}
for side in old new; do
    tree=${!side}
    rm -f "$side".db*; cp a0.db "$side.db"
    PYTHONPATH=$tree /usr/bin/time -f "$side: %U user %S sys s, %M KB peak, %e s wall" \
        "$clm" --db "$side.db" db merge b0.db -f json >"$side.json" 2>"$side.time"
    tail -1 "$side.time"
    rm -f "$side".db.before-merge-*.bak
    sums "$side.db" >"$side.sums"
done
cmp old.json new.json && echo "the same report ($(wc -c <new.json) bytes)"
diff old.sums new.sums && echo "the same merged book" || echo "tables that differ: see above"
