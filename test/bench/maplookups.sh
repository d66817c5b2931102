# Sourced by test/bench/run once tenant big.example holds 100,000 users:
# Postfix's own lookups (postmap -q - pgsql:FILE) against ERS's views, side
# by side with a plain indexed one-table query over the same addresses, in
# the same run.  Writes the markdown section to $dir/results-maps.md.
#
# The files are the ones `ersctl mailstack render` wrote for the stack's
# Postfix; the plain map is the same file with its query swapped.

bench_map_lookups() {
    local etc=$dir/postfix/etc keys=$dir/map-keys n=10000 rounds=5
    say "map lookups: 100,000 mailboxes, $n keys per postmap run, $rounds rounds"
    # The baseline: one table, one unique index, what a hand-written
    # PostfixAdmin-style schema would query.
    psql_super -c "CREATE TABLE public.bench_plain (address text PRIMARY KEY, goto text NOT NULL)" \
        -c "INSERT INTO public.bench_plain SELECT address, address FROM ers.mailbox" \
        -c "ANALYZE public.bench_plain" -c "GRANT SELECT ON public.bench_plain TO ers_mail" >/dev/null
    sed 's/^query = .*/query = SELECT goto FROM public.bench_plain WHERE address = '"'"'%s'"'"'/' \
        "$etc/pgsql-aliases.cf" >"$dir/pgsql-plain.cf"
    # Random existing addresses plus 10% that are not there (Postfix looks up
    # catch-alls and misses too).
    psql_ers -c "SELECT address FROM ers.mailbox ORDER BY random() LIMIT $((n * 9 / 10))" >"$keys"
    seq 1 $((n / 10)) | sed 's/$/-nobody@big.example/' >>"$keys"
    local total
    total=$(psql_ers -c "SELECT count(*) FROM ers.mailbox")
    local maps="pgsql-aliases.cf pgsql-mailboxes.cf pgsql-disabled.cf pgsql-plain.cf" m r t0 t1
    declare -gA map_us=()
    map_file() { if [ "$1" = pgsql-plain.cf ]; then echo "$dir/pgsql-plain.cf"; else echo "$etc/$1"; fi; }
    declare -A map_times=()
    for m in $maps; do # warm the cache (exit 1: some keys are misses)
        postmap -c "$etc" -q - "pgsql:$(map_file "$m")" <"$keys" >/dev/null || true
    done
    # Rounds interleave the maps, so that a drift in the machine's load
    # during the run weighs on each map alike.
    for r in $(seq 1 $rounds); do
        for m in $maps; do
            t0=$(now)
            postmap -c "$etc" -q - "pgsql:$(map_file "$m")" <"$keys" >"$dir/map-$m.out" || true
            t1=$(now)
            map_times[$m]+=" $(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / 1e3 / n }')"
        done
    done
    for m in $maps; do
        # shellcheck disable=SC2086 # the times are words
        map_us[$m]=$(median ${map_times[$m]})
        map_rows[$m]=$(wc -l <"$dir/map-$m.out")
    done
    local base=${map_us[pgsql-plain.cf]}
    {
        echo
        echo "## 4. Postfix lookups over $total mailboxes"
        echo
        echo "Method: \`postmap -q - pgsql:FILE\` reads $n keys (90% existing addresses"
        echo "in random order, 10% misses) and looks each up over PostgreSQL's unix"
        echo "socket as the mail role; median of $rounds rounds (the maps taking turns) after one warm-up run, divided"
        echo "by $n.  The files are the ones \`ersctl mailstack render\` wrote for the"
        echo "stack's Postfix; the baseline is the same file querying a plain table"
        echo "(\`address text PRIMARY KEY, goto text\`) holding the same $total addresses."
        echo "Goal: ≤ 1.2 × the plain query."
        echo
        echo "| map (view) | per lookup | answers | ratio to the plain table |"
        echo "| --- | --- | --- | --- |"
        for m in pgsql-aliases.cf pgsql-mailboxes.cf pgsql-disabled.cf; do
            local ratio
            ratio=$(calc "${map_us[$m]} / $base")
            echo "| \`$m\` | ${map_us[$m]} µs | ${map_rows[$m]} | **$ratio — $(verdict "$ratio" 1.2)** |"
        done
        echo "| plain indexed one-table query (baseline) | $base µs | ${map_rows[pgsql-plain.cf]} | 1.00 |"
        echo
        echo "For context (\`shared/NOTES-performance.md\`, not measured here): a Postfix"
        echo "hash map 3.4 µs, lmdb 2.3 µs, pgsql over a unix socket 81 µs a lookup."
    } >"$dir/results-maps.md"
}
declare -A map_rows=()
