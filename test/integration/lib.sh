# Sourced by each integration test: TAP output, a fresh database per test on
# the stack that test/run-all started ($ERS_STACK_DIR), and ersctl runners.
set -u
. "$ERS_STACK_DIR/stack.env"
T_NUM=0
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "$ERS_STACK_DIR/t-$T_NAME.XXXXXX")
chmod 755 "$T_DIR"

as_user() { # USER COMMAND...: COMMAND as USER, from / (the clone may lie where USER cannot enter)
    local user=$1; shift
    (cd / && runuser -u "$user" -- "$@")
}

# The stack's PostgreSQL trusts its unix socket (initdb -A trust), so psql
# runs as it is: a runuser to postgres cost as much as psql itself, and
# tests call this thousands of times.
pg() { # psql as the superuser against DB ($1), the rest are psql args
    local db=$1; shift
    "$PGBIN/psql" -qXAt -h "$PG_SOCKET" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
}

# new_db [--bare]: a fresh database for this test; ERS_CONFIG points at it;
# migrated unless --bare.
new_db() {
    T_DB="t_${T_NAME//-/_}_$RANDOM"
    pg postgres -c "CREATE DATABASE $T_DB OWNER ers" >/dev/null
    cat >"$T_DIR/ers.yaml" <<YAML
database:
  host: $PG_SOCKET
  port: $PG_PORT
  name: $T_DB
  user: ers
secrets_file: $ERS_STACK_DIR/secrets
YAML
    export ERS_CONFIG=$T_DIR/ers.yaml
    if [ "${1:-}" != --bare ]; then
        "$ERSCTL" --quiet db migrate || { echo "Bail out! db migrate failed"; exit 1; }
    fi
}

sql() { pg "$T_DB" -c "$1"; }

# run ARGS...: runs ersctl; sets OUT, ERR, RC.
run() {
    OUT=$("$ERSCTL" "$@" 2>"$T_DIR/err" </dev/null); RC=$?
    ERR=$(cat "$T_DIR/err")
}

ok() { # CONDITION-STATUS DESCRIPTION
    T_NUM=$((T_NUM + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_NUM - $2"; else echo "not ok $T_NUM - $2"; fi
    return "$1"
}

diag() { printf '%s\n' "$@" | sed 's/^/#   /'; }

# expect STATUS DESCRIPTION ARGS...: ersctl exits with STATUS.
expect() {
    local want=$1 desc=$2; shift 2
    run "$@"
    if [ "$RC" -eq "$want" ]; then ok 0 "$desc"; else
        ok 1 "$desc"; diag "ersctl $*" "wanted exit $want, got $RC" "stdout: $OUT" "stderr: $ERR"; fi
}

# like TEXT REGEX DESCRIPTION
like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
        ok 1 "$3"; diag "expected to match: $2" "got: $1"; fi
}
unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then ok 1 "$3"; diag "expected not to match: $2" "got: $1"; else ok 0 "$3"; fi
}
is() {
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; diag "wanted: $2" "got:    $1"; fi
}

# The webmail over the stack's HTTPS, for tests that set BASE (its URL);
# tests with other needs (no cookie jar, timings) keep a web() of their own.
# web JAR METHOD PATH [curl args...]: sets CODE, HDR, BODY.
web() {
    local jar=$1 method=$2 path=$3; shift 3
    curl -s --max-time 30 --cacert "$TLS_CA" -b "$jar" -c "$jar" -X "$method" -D "$T_DIR/h" -o "$T_DIR/b" \
        "$BASE$path" "$@" >/dev/null
    HDR=$(tr -d '\r' <"$T_DIR/h"); BODY=$(cat "$T_DIR/b")
    CODE=$(printf '%s\n' "$HDR" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
}
# csrf: the CSRF token of the form in BODY.
csrf() { printf '%s' "$BODY" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1; }

# data_sql [EXTRA-CONDITION]: one query printing every row of every table and
# the state of every sequence outside the system schemas.  It stands in for
# pg_dump: 0.04 s a run is too slow for hundreds of cases, and pg_dump >=
# 15.14 writes a random \restrict key into every dump.
data_sql() {
    echo "SELECT format('%I.%I', n.nspname, c.relname) || E'\\n' || query_to_xml(format(
            CASE c.relkind WHEN 'S' THEN 'SELECT last_value, is_called FROM %I.%I'
                           ELSE 'SELECT t::text AS row FROM %I.%I t ORDER BY 1' END,
            n.nspname, c.relname), false, false, '')::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%' ${1:-} ORDER BY 1"
}
# The audit log left out: policy refusals are meant to add to it.
NO_AUDIT="AND c.relname NOT IN ('audit_log', 'audit_log_id_seq')"

# The data of this test's database (DUMP_EXCEPT: a condition leaving tables
# out), but for ers_quota: Dovecot writes that one itself whenever a delivery
# Postfix queued earlier lands, so it can change while ersctl refuses something.
dump() { pg "$T_DB" -c "$(data_sql "AND n.nspname <> 'ers_quota' ${DUMP_EXCEPT:-}")" 2>&1; }

# refused STATUS REGEX DESCRIPTION ARGS...: ersctl fails with STATUS, says
# something matching REGEX on one stderr line "ersctl: ...", and the
# database is exactly as before.
refused() {
    local want=$1 re=$2 desc=$3 before after; shift 3
    before=$(dump)
    run "$@"
    after=$(dump)
    local bad=0 lines
    lines=$(printf '%s\n' "$ERR" | grep -c .)
    [ "$RC" -eq "$want" ] || bad=1
    printf '%s' "$ERR" | grep -Eq -- "^ersctl: .*($re)" || bad=1
    [ "$lines" -eq 1 ] || bad=1
    [ "$before" = "$after" ] || bad=1
    ok "$bad" "$desc" || {
        diag "ersctl $*" "wanted exit $want and /$re/, got exit $RC" "stderr: $ERR"
        [ "$before" = "$after" ] || diag "the database changed:" "$(diff <(echo "$before") <(echo "$after") | head -n 10)"
    }
}

# denied REGEX DESCRIPTION ARGS...: refused by the policy (77, one stderr
# line matching REGEX), nothing changed but the one 'denied' audit row it adds.
denied() {
    local re=$1 desc=$2 before after a0; shift 2
    before=$(DUMP_EXCEPT=$NO_AUDIT dump)
    a0=$(sql "SELECT coalesce(max(id), 0) FROM ers.audit_log")
    run "$@"
    after=$(DUMP_EXCEPT=$NO_AUDIT dump)
    local bad=0 rows
    rows=$(sql "SELECT string_agg(outcome, ' ') FROM ers.audit_log WHERE id > $a0")
    [ "$RC" -eq 77 ] || bad=1
    printf '%s' "$ERR" | grep -Eq -- "^ersctl: .*($re)" || bad=1
    [ "$(printf '%s\n' "$ERR" | grep -c .)" -eq 1 ] || bad=1
    [ "$before" = "$after" ] || bad=1
    [ "$rows" = denied ] || bad=1
    ok "$bad" "$desc" || diag "ersctl $*" "wanted exit 77 and /$re/, got exit $RC" "stderr: $ERR" "new audit rows: $rows" \
        "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
}

done_testing() {
    echo "1..$T_NUM"
}
