# Sourced by test/bench/run: the admin panel's Users tab (web/pages_admin.c)
# on a tenant of 100,000 users.  build/ers-webmail.cgi is run as a process
# with the CGI environment set -- a cold CGI request, without the web
# server's own overhead -- for GET /admin/users with a tenant admin's
# session, side by side with `ersctl --as` the same tenant admin `user list
# --limit 50`: the same page (the first 50 regular users of the tenant, by
# email) through the same libers call.  Goal: <= 1.5x, and the CGI under
# 100 ms.  Also timed, without a goal: the first page sorted by name, and
# the next page (keyset cursor).
# Writes the markdown section to $dir/results-admin.md.
#
# Needs from the caller: dir, top, ERSCTL, ERS_CONFIG, psql_ers, the
# stack's variables (stack.env), say, calc, verdict, $dir/hashprobe;
# hyperfine (else a loop of date +%s%N).

bench_admin() {
    local ab=$dir/admin n=100000 runs=${ADMIN_RUNS:-50} dom=adminbench.example
    local admin=ta@adminbench.example started load0
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "admin: the Users tab's first page of a tenant of $n users; the CGI as a process vs ersctl user list"
    mkdir -p "$ab"
    # The hosts may be there already (the webmail section adds them).
    "$ERSCTL" -q server host add localhost --kind imap --port "$IMAP_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q server host add localhost --kind smtp --port "$SUBMISSION_PORT" --tls starttls 2>/dev/null || true
    "$ERSCTL" -q tenant add adminbench --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
        --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
    ( umask 077; echo "admin-bench-password-1" >"$ab/password" )
    "$ERSCTL" -q user add "$admin" --role tenant_admin --password-file "$ab/password"

    # 100,000 regular users straight into the tables (as section 2 does),
    # with names, all with one precomputed hash.
    say "admin: loading $n users (fast path)"
    local hash
    hash=$("$dir/hashprobe" hash 'a fixed benchmark password')
    psql_ers -v dom="$dom" -v n="$n" -v hash="$hash" <<'SQL'
BEGIN;
INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind)
    SELECT 'u' || i || '@' || d.name, d.tenant_id, d.id, 'mailbox'
    FROM ers.domain d, generate_series(1, :n) i WHERE d.name = :'dom';
INSERT INTO ers.mailbox (tenant_id, address, first_name, last_name, role, password_hash, quota_mb)
    SELECT d.tenant_id, 'u' || i || '@' || d.name, 'First' || (i * 7919 % :n), 'Last' || i, 'user', :'hash', 1024
    FROM ers.domain d, generate_series(1, :n) i WHERE d.name = :'dom';
COMMIT;
ANALYZE ers.mailbox;
ANALYZE ers.address_claim;
SQL

    # The CGI from a copy of the build (a rebuild meanwhile must not change
    # what is measured), and a session made by its own POST /login.
    mkdir -p "$dir/build/web"
    cp "$top/build/ers-webmail.cgi" "$top/build/ers-webmail.so" "$dir/build/web/"
    local cgi=$dir/build/web/ers-webmail.cgi conf=$dir/web/ers.yaml
    local form="email=${admin/@/%40}&password=admin-bench-password-1" cookie
    cookie=$(printf '%s' "$form" | env -i ERS_CONFIG="$conf" REQUEST_METHOD=POST PATH_INFO=/login \
        REMOTE_ADDR=127.0.0.1 CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#form} HTTPS=on "$cgi" |
        sed -n 's/^Set-Cookie: \([^;]*\);.*/\1/p')
    [ -n "$cookie" ] || { echo "bench: the webmail login as $admin gave no session cookie" >&2; exit 1; }
    # Each command a script of its own: hyperfine -N runs it without a shell.
    cgi_cmd() { # NAME QUERY
        printf '#!/bin/sh\nexec env -i ERS_CONFIG=%s GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 HTTPS=on REQUEST_METHOD=GET PATH_INFO=/admin/users QUERY_STRING=%s REMOTE_ADDR=127.0.0.1 HTTP_COOKIE=%s %s\n' \
            "$conf" "$2" "$cookie" "$cgi" >"$ab/$1"
        chmod 755 "$ab/$1"
    }
    cli_cmd() { # NAME ARGS...
        local name=$1; shift
        printf '#!/bin/sh\nexec env -i ERS_CONFIG=%s %s --as %s user list --limit 50 %s\n' "$conf" "$ERSCTL" "$admin" "$*" >"$ab/$name"
        chmod 755 "$ab/$name"
    }
    cgi_cmd cgi_first ''
    cli_cmd cli_first
    cgi_cmd cgi_name 'sort=name'
    cli_cmd cli_name --sort name
    # The second page: the cursor the first page's Next page link holds.
    local next
    next=$("$ab/cgi_first" | grep -o 'href="/admin/users?[^"]*after=[^"]*">Next page' | sed 's/href="\/admin\/users?//; s/">.*//; s/&amp;/\&/g')
    [ -n "$next" ] || { echo "bench: the Users page has no Next page link" >&2; exit 1; }
    # What each shows: 50 rows of the tenant, the same addresses.
    local web_rows cli_rows last
    web_rows=$("$ab/cgi_first" | grep -o '<td class="email" data-label="Email">[^<]*' | sed 's/.*>//' | tr '\n' ' ')
    cli_rows=$("$ab/cli_first" | awk 'NR > 1 && $1 ~ /@/ { print $1 }' | tr '\n' ' ')
    [ "$(echo $web_rows | wc -w)" = 50 ] && [ "$web_rows" = "$cli_rows" ] ||
        { echo "bench: the CGI and ersctl show different pages:" "$web_rows" "/" "$cli_rows" >&2; exit 1; }
    last=$(echo $web_rows | awk '{ print $NF }')
    [ "$(echo "$next" | sed 's/.*after=//')" = "${last/@/%40}" ] ||
        { echo "bench: the Next page cursor $next is not the last address shown, $last" >&2; exit 1; }
    cgi_cmd cgi_next "'$next'"
    cli_cmd cli_next --after "$last"
    "$ab/cgi_name" | grep -q '<td class="email" data-label="Email">' || { echo "bench: no rows sorted by name" >&2; exit 1; }

    local tool names=(cgi_first cli_first cgi_name cli_name cgi_next cli_next)
    say "admin: timing ${#names[@]} commands, $runs runs each"
    if command -v hyperfine >/dev/null; then
        tool="hyperfine $(hyperfine --version | awk '{ print $2 }') (-N, 5 warm-ups, $runs runs each)"
        local args=() c
        for c in "${names[@]}"; do args+=(-n "$c" "$ab/$c"); done
        hyperfine -N --style none --warmup 5 --runs "$runs" --export-csv "$ab/times.csv" "${args[@]}" >/dev/null
        # command,mean,stddev,median,user,system,min,max (seconds)
        at() { awk -F, -v n="$1" -v c="$2" '$1 == n { printf "%.1f", $c * 1000 }' "$ab/times.csv"; }
    else
        tool="a loop of date +%s%N ($runs runs each; hyperfine is not installed: make deps)"
        : >"$ab/times.csv"
        local c i t0 t1 v
        for c in "${names[@]}"; do
            v=()
            for i in $(seq 1 $((runs + 5))); do
                t0=$(now); "$ab/$c" >/dev/null; t1=$(now)
                [ "$i" -gt 5 ] && v+=("$(ms "$t0" "$t1")")
            done
            echo "$c,0,0,$(printf '%s\n' "${v[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] / 1000 }'),0,0,0,0" >>"$ab/times.csv"
        done
        at() { awk -F, -v n="$1" -v c="$2" '$1 == n { if (c == 3) print "n/a"; else printf "%.1f", $c * 1000 }' "$ab/times.csv"; }
    fi
    local first=$(at cgi_first 4) first_sd=$(at cgi_first 3) cli=$(at cli_first 4) cli_sd=$(at cli_first 3)
    local name=$(at cgi_name 4) name_cli=$(at cli_name 4) nxt=$(at cgi_next 4) nxt_cli=$(at cli_next 4)
    local r_first r_name r_next cpu_cgi=n/a cpu_cli=n/a r_cpu=n/a
    r_first=$(calc "$first / $cli") r_name=$(calc "$name / $name_cli") r_next=$(calc "$nxt / $nxt_cli")
    # CPU time (user + system, mean): less moved by other load than wall time.
    if [ "${tool#hyperfine}" != "$tool" ]; then
        cpu() { awk -F, -v n="$1" '$1 == n { printf "%.1f", ($5 + $6) * 1000 }' "$ab/times.csv"; }
        cpu_cgi=$(cpu cgi_first) cpu_cli=$(cpu cli_first) r_cpu=$(calc "$(cpu cgi_first) / $(cpu cli_first)")
    fi
    {
        echo "## 7. The admin panel's Users tab: the first page of a tenant of 100,000 users"
        echo
        echo "Run $started (load average $load0 at its start, $(cut -d' ' -f1-3 /proc/loadavg) at its end), $(nproc) cores."
        echo "Method: the tenant holds $n regular users (loaded with the SQL fast path of section 2,"
        echo "with names) and its tenant admin.  \`build/ers-webmail.cgi\` is run as a process with"
        echo "the CGI environment set (GET /admin/users, HTTP_COOKIE with a session made by the"
        echo "CGI's own POST /login): a cold CGI request without the web server's overhead,"
        echo "from exec to exit: session check, the policy, \`ers_user_list\` (keyset, 51 rows),"
        echo "the HTML page.  Beside it \`ersctl --as\` the same tenant admin \`user list --limit 50\`:"
        echo "the same 50 users (checked equal) through the same libers call, printed as a table."
        echo "Both started through \`env -i\`.  Timed with $tool; medians (± standard deviation)."
        echo
        echo "| what | Users tab (CGI) | \`ersctl user list\` | ratio (goal) |"
        echo "| --- | --- | --- | --- |"
        echo "| **the first page, by email** | **$first ms** ± $first_sd | $cli ms ± $cli_sd | **$r_first — $(verdict "$r_first" 1.5)** (≤ 1.5) |"
        echo "| **the CGI under 100 ms** | **$first ms — $(verdict "$first" 100)** | | |"
        echo "| the first page by email, CPU time (user + system, mean; the PostgreSQL server's not counted) | $cpu_cgi ms | $cpu_cli ms | $r_cpu |"
        echo "| the first page sorted by name (\`sort=name\`, \`--sort name\`) | $name ms | $name_cli ms | $r_name |"
        echo "| the next page by email (the keyset cursor of Next page, \`--after\`) | $nxt ms | $nxt_cli ms | $r_next |"
        echo
        echo "Section 2 measured \`ersctl user list\` at about 12 ms on a quiet machine: the wall times"
        echo "here move with the load average above (other work on the same $(nproc) cores)."
        echo
        echo "The pages sorted by name, role or status read the indexes of migration 0012"
        echo "(tenant, sort key, address): no page of a tenant sorts or loads the whole tenant."
    } >"$dir/results-admin.md"
}
