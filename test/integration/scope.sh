# Outside its scope an actor cannot tell an object that exists from one
# that does not (issue 13, gap 2).  For every command that names an
# address, a domain or a tenant, a tenant admin and a user each run it on
# an object out of their sight and on a missing one named the same way --
# in another tenant, in a domain nobody has, and, in their own tenant, an
# admin (or, for a user, another user) against a free address.  The two
# runs must exit alike, say the same words once the names are swapped,
# leave the data alone, add one 'denied' audit row each that reads the same
# way, and send PostgreSQL the same statements (the same lookups, none
# skipped).  Operators and super admins, who see everything, are still
# told "no such ..."; so is a tenant admin about what lies inside its scope.
. "$(dirname "$0")/lib.sh"
new_db

PW=$T_DIR/pw
printf 'scope-pass-1234\n' >"$PW"
op() {
    local out
    out=$("$ERSCTL" --quiet --yes "$@" 2>&1 >/dev/null) || { echo "Bail out! setup failed: ersctl $* -> $out"; exit 1; }
}

# --- two tenants; Alpha has two tenant admins and a super admin -----------
op server host add mail.example.net --kind imap
op server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
op tenant add Alpha --domain alpha.example "${M[@]}"
op tenant add Beta --domain beta.example "${M[@]}"
op user add sa@alpha.example --role super_admin --password-file "$PW"
op user add ta@alpha.example --role tenant_admin --password-file "$PW"
op user add boss2@alpha.example --role tenant_admin --password-file "$PW"
op user add u1@alpha.example --password-file "$PW"
op user add u2@alpha.example --password-file "$PW"
op user add ota@beta.example --role tenant_admin --password-file "$PW"
op user add ou@beta.example --password-file "$PW"
op alias add al@alpha.example --to u1@alpha.example
op alias add adminal@alpha.example --to boss2@alpha.example
op alias add oal@beta.example --to ou@beta.example
op forward add boss2@alpha.example --to x@example.org --keep-copy
op forward add ou@beta.example --to x@example.org --keep-copy
op forward add ofw@beta.example --to ou@beta.example
op forward add '*@beta.example' --to ou@beta.example
printf 'address,first_name\nimported@alpha.example,Imp\n' >"$T_DIR/import.csv"
for d in beta.example nowhere.example; do
    printf 'address,first_name\nimported@alpha.example,Imp\nimported@%s,Imp\n' "$d" >"$T_DIR/import-$d.csv"
done
# The DNS plan needs the mail host's address (nothing here asks DNS).
printf 'dns:\n  mail_ipv4: 127.0.0.1\n' >>"$T_DIR/ers.yaml"

# Every statement the test database receives goes to the server's log, so
# that the two runs of a pair can be compared statement by statement.
PGLOG=$ERS_STACK_DIR/pg/postgres.log
[ -r "$PGLOG" ] || { echo "Bail out! cannot read $PGLOG"; exit 1; }
sql "ALTER DATABASE $T_DB SET log_statement = 'all'" >/dev/null

# one ACTOR ARGS...: runs `ersctl --yes [--as ACTOR] ARGS`; sets RC, OUT,
# ERR, STMTS (the statements it sent, without their parameters) and AUDIT
# (the audit rows it added: outcome|action|target|tenant|detail).
AUDIT_MAX=$(sql "SELECT coalesce(max(id), 0) FROM ers.audit_log")
one() {
    local actor=$1 size out
    shift
    size=$(stat -c %s "$PGLOG")
    if [ "$actor" = operator ]; then run --yes "$@"; else run --yes --as "$actor" "$@"; fi
    STMTS=$(tail -c +$((size + 1)) "$PGLOG" | sed -n 's/^.* LOG:  \(statement\|execute [^:]*\): //p')
    out=$(sql "SELECT coalesce(max(id), 0) || ' ' || coalesce(string_agg(outcome || '|' || action || '|' || target
               || '|' || coalesce(tenant_name, '') || '|' || coalesce(detail, ''), ' ;; ' ORDER BY id) FILTER (WHERE id > $AUDIT_MAX), '')
               FROM ers.audit_log")
    AUDIT_MAX=${out%% *} AUDIT=${out#* }
}

# swap TEXT NAME ACTOR: TEXT with NAME written as OBJ and, for an address,
# its domain as DOM (the domain is part of how the object is named); the
# actor's name stays as it is.
swap() {
    local t=${1//"$3"/ACTOR}
    t=${t//"$2"/OBJ}
    case $2 in *@*) t=${t//"${2#*@}"/DOM} ;; esac
    printf '%s' "$t"
}

PAIRS=0
DATA=$(DUMP_EXCEPT=$NO_AUDIT dump)
# pair WANT ACTOR EXISTING MISSING ARGS...: ARGS with {} standing for the
# object, run once with EXISTING and once with MISSING; both must exit WANT
# and be indistinguishable.  (Under --json the error is on stdout.)
pair() {
    local want=$1 actor=$2 a=$3 b=$4 x bad=0 why=()
    shift 4
    local args_a=() args_b=()
    for x in "$@"; do args_a+=("${x//\{\}/$a}"); args_b+=("${x//\{\}/$b}"); done
    PAIRS=$((PAIRS + 1))
    one "$actor" "${args_a[@]}"
    local rc_a=$RC err_a=$ERR$OUT stmts_a=$STMTS audit_a=$AUDIT
    one "$actor" "${args_b[@]}"
    local rc_b=$RC err_b=$ERR$OUT stmts_b=$STMTS audit_b=$AUDIT after
    after=$(DUMP_EXCEPT=$NO_AUDIT dump)
    [ "$rc_a" -eq "$want" ] && [ "$rc_b" -eq "$want" ] || { bad=1; why+=("wanted exit $want twice, got $rc_a and $rc_b"); }
    [ "$(swap "$err_a" "$a" "$actor")" = "$(swap "$err_b" "$b" "$actor")" ] || { bad=1; why+=("the words differ:" "  $err_a" "  $err_b"); }
    [ "$1" = --json ] || [ "$(printf '%s\n' "$err_a" | grep -c .)" -eq 1 ] || { bad=1; why+=("wanted one error line: $err_a"); }
    [ "$DATA" = "$after" ] || { bad=1; why+=("the data changed:" "$(diff <(echo "$DATA") <(echo "$after") | head -n 6)"); DATA=$after; }
    if [ "$want" -eq 77 ]; then
        case $audit_a in "denied|"*" ;; "* | "") bad=1; why+=("wanted one denied audit row, got: '$audit_a'") ;; "denied|"*) ;; *) bad=1; why+=("wanted a denied audit row, got: '$audit_a'") ;; esac
    fi
    # The audit rows read alike; so does their tenant when both objects
    # are named in the same domain (a tenant admin reads its own tenant's
    # rows, never another's or those of no tenant).
    local ta=$audit_a tb=$audit_b
    if [ "${a#*@}" != "${b#*@}" ] || [ "${a#*@}" = "$a" ]; then
        ta=$(printf '%s' "$ta" | awk -F'|' -v OFS='|' '{ $4 = "" } 1') tb=$(printf '%s' "$tb" | awk -F'|' -v OFS='|' '{ $4 = "" } 1')
    fi
    [ "$(swap "$ta" "$a" "$actor")" = "$(swap "$tb" "$b" "$actor")" ] || { bad=1; why+=("the audit rows differ:" "  $audit_a" "  $audit_b"); }
    [ "$stmts_a" = "$stmts_b" ] || { bad=1; why+=("the statements differ:" "$(diff <(echo "$stmts_a") <(echo "$stmts_b") | head -n 8)"); }
    ok "$bad" "$actor: $(printf '%s ' "${args_a[@]}")~ $b" || diag "${why[@]}"
}

# --- commands on a user ----------------------------------------------------
user_pairs() { # ACTOR EXISTING MISSING
    local a=$1 e=$2 m=$3
    pair 77 "$a" "$e" "$m" user show {}
    pair 77 "$a" "$e" "$m" --json user show {}
    pair 77 "$a" "$e" "$m" user edit {} --first-name Someone
    pair 77 "$a" "$e" "$m" user edit {} --quota-mb 10
    pair 77 "$a" "$e" "$m" user passwd {} --password-file "$PW"
    pair 77 "$a" "$e" "$m" user passwd {} --password-file "$PW" --current-password-file "$PW"
    pair 77 "$a" "$e" "$m" user disable {}
    pair 77 "$a" "$e" "$m" user enable {}
    pair 77 "$a" "$e" "$m" user delete {}
    pair 77 "$a" "$e" "$m" user mfa status {}
    pair 77 "$a" "$e" "$m" user mfa reset {}
    pair 77 "$a" "$e" "$m" limits show --mailbox {}
    pair 77 "$a" "$e" "$m" limits set --mailbox {} --per-mailbox 5
    pair 77 "$a" "$e" "$m" alias add scope-new@alpha.example --to {}
}
for a in ta@alpha.example u1@alpha.example; do
    user_pairs "$a" ou@beta.example nosuch@beta.example
    user_pairs "$a" ou@beta.example nosuch@nowhere.example
done
user_pairs ta@alpha.example boss2@alpha.example nosuch@alpha.example   # an admin of its own tenant
user_pairs ta@alpha.example sa@alpha.example nosuch@alpha.example      # a super admin there
user_pairs u1@alpha.example u2@alpha.example nosuch@alpha.example      # another user of its tenant

# --- aliases and forwards ----------------------------------------------------
for a in ta@alpha.example u1@alpha.example; do
    pair 77 "$a" oal@beta.example nosuch@beta.example alias delete {}
    pair 77 "$a" oal@beta.example nosuch@nowhere.example alias delete {}
    pair 77 "$a" adminal@alpha.example nosuch@alpha.example alias delete {}
    for m in nosuch@beta.example nosuch@nowhere.example; do
        pair 77 "$a" ou@beta.example "$m" forward delete {}
        pair 77 "$a" ou@beta.example "$m" forward add {} --to x@example.org
        pair 77 "$a" ofw@beta.example "$m" forward delete {}
    done
    pair 77 "$a" boss2@alpha.example nosuch@alpha.example forward delete {}  # an admin's forward
    pair 77 "$a" sa@alpha.example nosuch@alpha.example forward delete {}     # an admin without one
    pair 77 "$a" adminal@alpha.example nosuch@alpha.example forward delete {}
    pair 77 "$a" boss2@alpha.example nosuch@alpha.example forward add u1@alpha.example --to {}
    pair 77 "$a" adminal@alpha.example nosuch@alpha.example forward add u1@alpha.example --to {}
done
# The alias's own address outside the user's tenant: not allowed for anyone,
# in the same words whether or not some other tenant has the domain.
pair 65 ta@alpha.example beta.example nowhere.example alias add scope-x@{} --to u1@alpha.example
pair 77 u1@alpha.example beta.example nowhere.example alias add scope-x@{} --to u1@alpha.example
# An admin's alias as a forward's source is the admin's business: refused,
# without naming the admin.
one ta@alpha.example forward add adminal@alpha.example --to x@example.org
is "$RC $ERR" "77 ersctl: forward add: ta@alpha.example (tenant_admin) may not forward.manage" \
    "tenant admin: forward from an admin's alias: refused, the admin not named"

# --- commands on a domain ----------------------------------------------------
domain_pairs() { # ACTOR EXISTING MISSING
    local a=$1 e=$2 m=$3
    pair 77 "$a" "$e" "$m" dkim show {}
    pair 77 "$a" "$e" "$m" dkim enable {}
    pair 77 "$a" "$e" "$m" dkim disable {}
    pair 77 "$a" "$e" "$m" dkim rotate {}
    pair 77 "$a" "$e" "$m" dns plan {}
    pair 77 "$a" "$e" "$m" dns check {}
    pair 77 "$a" "$e" "$m" mtasts policy {}
    pair 77 "$a" "$e" "$m" mtasts mode {} enforce
    pair 77 "$a" "$e" "$m" tenant autoconfig {}
    pair 77 "$a" "$e" "$m" tenant golive {}
    pair 77 "$a" "$e" "$m" limits show --domain {}
    pair 77 "$a" "$e" "$m" limits set --domain {} --per-mailbox 5
}
for a in ta@alpha.example u1@alpha.example; do
    domain_pairs "$a" beta.example nowhere.example
    pair 77 "$a" beta.example nowhere.example user add scope-new@{} --password-file "$PW"
    pair 77 "$a" beta.example nowhere.example forward add '*@{}' --to x@example.org
    pair 77 "$a" beta.example nowhere.example forward delete '*@{}'
    pair 77 "$a" beta.example nowhere.example tenant show {}
done
# A file's row in another tenant's domain, or in one no tenant has: the
# same refusal of that row.
pair 77 ta@alpha.example beta.example nowhere.example user import --generate-passwords "$T_DIR/import-{}.csv"
domain_pairs u1@alpha.example alpha.example nowhere.example   # a user sees no domain, not even its own

# --- commands on a tenant (by name or by domain) ---------------------------
for a in ta@alpha.example u1@alpha.example; do
    for e in Beta beta.example; do
        m=Nosuch; [ "$e" = beta.example ] && m=nowhere.example
        pair 77 "$a" "$e" "$m" tenant show {}
        pair 77 "$a" "$e" "$m" tenant edit {} --max-users 5
        pair 77 "$a" "$e" "$m" tenant delete {}
        pair 77 "$a" "$e" "$m" tenant domain list {}
        pair 77 "$a" "$e" "$m" tenant domain add {} scope-new.example
        pair 77 "$a" "$e" "$m" tenant domain remove {} beta.example
        pair 77 "$a" "$e" "$m" tenant domain primary {} beta.example
        pair 77 "$a" "$e" "$m" tenant domain copy {} beta.example --off
        pair 77 "$a" "$e" "$m" limits show --tenant {}
        pair 77 "$a" "$e" "$m" limits set --tenant {} --total 5
        pair 77 "$a" "$e" "$m" user list --tenant {}
        pair 77 "$a" "$e" "$m" alias list --tenant {}
        pair 77 "$a" "$e" "$m" forward list --tenant {}
        pair 77 "$a" "$e" "$m" user export --tenant {}
        pair 77 "$a" "$e" "$m" user import --tenant {} "$T_DIR/import.csv"
    done
done

# --- whoever sees everything is still told what is not there ----------------
for a in operator sa@alpha.example; do
    one "$a" user show nosuch@beta.example
    is "$RC $ERR" "66 ersctl: user show: no user nosuch@beta.example (see: ersctl user list)" "$a: user show of a missing user: not found"
    one "$a" user delete nosuch@nowhere.example
    is "$RC" 66 "$a: user delete in a domain nobody has: not found"
    one "$a" tenant show Nosuch
    is "$RC" 66 "$a: tenant show of a missing tenant: not found"
    one "$a" dkim show nowhere.example
    is "$RC" 66 "$a: dkim show of a missing domain: not found"
    one "$a" alias delete nosuch@beta.example
    is "$RC" 66 "$a: alias delete of a missing alias: not found"
    one "$a" forward delete nosuch@beta.example
    is "$RC" 66 "$a: forward delete of a missing forward: not found"
    one "$a" limits show --mailbox nosuch@alpha.example
    is "$RC" 66 "$a: limits of a missing mailbox: not found"
    one "$a" forward add u1@alpha.example --to nosuch@alpha.example
    is "$RC" 65 "$a: a forward to a free address of the tenant's domain: invalid, says why"
    like "$ERR" "no user, alias or forward has that address" "... in those words"
    one "$a" user add new@nowhere.example --password-file "$PW"
    is "$RC" 65 "$a: user add in a domain nobody has: invalid"
    like "$ERR" "domain nowhere.example is not one of any tenant's domains" "... in those words"
done

# --- inside its scope a tenant admin is told too ------------------------------
one ta@alpha.example forward delete u1@alpha.example
is "$RC $ERR" "66 ersctl: forward delete: no forward from u1@alpha.example (see: ersctl forward list)" \
    "tenant admin: no forward from a regular user of its tenant: not found"
one ta@alpha.example forward delete al@alpha.example
is "$RC" 66 "tenant admin: no forward from a regular user's alias: not found"
one ta@alpha.example forward delete '*@alpha.example'
is "$RC" 66 "tenant admin: no catch-all of its own domain: not found"
one ta@alpha.example user show u1@alpha.example
is "$RC" 0 "tenant admin: shows a regular user of its tenant"
one u1@alpha.example user list --tenant alpha.example
is "$RC" 0 "user: user list --tenant of its own tenant"
one ta@alpha.example forward add u1@alpha.example --to u2@alpha.example
is "$RC" 0 "tenant admin: forwards a regular user to another"

sql "ALTER DATABASE $T_DB RESET log_statement" >/dev/null
echo "# $PAIRS pairs"
done_testing
