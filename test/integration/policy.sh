# The policy through ersctl --as: every role (operator, super admin, tenant
# admin, user) against every user command on every kind of target (itself,
# each role in its own tenant and in another), and against the tenant,
# host, audit and db commands.  Each case expects exit 0 or 77 from rules
# written here from the manuals, not from authz.c.  A refusal must say so on
# one stderr line naming the actor, change no data, and leave exactly one
# 'denied' audit row naming the actor "(via operator:LOGIN)"; an allowed
# change leaves an 'ok' row naming them both.
. "$(dirname "$0")/lib.sh"
new_db
# Self-tests need a scanner: the stack's clamd.
printf 'scan:\n  target: unix:%s\n' "$CLAMD_SOCKET" >>"$ERS_CONFIG"

OPERATOR="operator:$(id -un)"
PW=$T_DIR/pw
printf 'policy-pass-1234\n' >"$PW"

# One query for the state: the audit rows since the last look, the newest
# audit id, then every row of every other table and every sequence.  The
# audit log is left out of the data: refusals are meant to add to it.
DUMP_SQL=$(data_sql "$NO_AUDIT")
AUDIT_MAX=0
snap() { # sets NEW_AUDIT ("outcome|actor|via|action|tenant ;; ..."), AUDIT_MAX, DATA
    local out rest
    out=$(pg "$T_DB" \
        -c "SELECT coalesce(string_agg(outcome || '|' || actor || '|' || coalesce(via, '') || '|' || action || '|' || coalesce(tenant_name, ''), ' ;; ' ORDER BY id), '') FROM ers.audit_log WHERE id > $AUDIT_MAX" \
        -c "SELECT coalesce(max(id), 0) FROM ers.audit_log" -c "$DUMP_SQL")
    NEW_AUDIT=${out%%$'\n'*}
    rest=${out#*$'\n'}
    AUDIT_MAX=${rest%%$'\n'*}
    DATA=${rest#*$'\n'}
}

# op ARGS...: a setup or restore step as the operator; it must work.
op() {
    local out
    out=$("$ERSCTL" --quiet --yes "$@" 2>&1 >/dev/null) || { echo "Bail out! setup failed: ersctl $* -> $out"; exit 1; }
}

# --- two tenants, each with a super admin, a tenant admin, two users -----
op server host add mail.example.net --kind imap
op server host add mail.example.net --kind smtp
op server host add spare.example.net --kind imap --port 143
M=(--imap-host mail.example.net --smtp-host mail.example.net)
op tenant add Alpha --domain alpha.example "${M[@]}"
op tenant add Beta --domain beta.example "${M[@]}"
op tenant add Gamma --domain gamma.example "${M[@]}"
role_of() { case ${1%%@*} in sa) echo super_admin ;; ta) echo tenant_admin ;; *) echo user ;; esac; }
actor_role() { if [ "$1" = operator ]; then echo operator; else role_of "$1"; fi; }
mkuser() { op user add "$1" --role "$(role_of "$1")" --password-file "$PW"; }
for t in alpha beta; do
    for u in sa ta u1 u2; do mkuser "$u@$t.example"; done
done

CASES=0
# What --as says for a disabled account (the login's words).
AS_DISABLED='--as: this account is disabled; contact your administrator$'
# check EXPECT ACTOR MUTATES DESC ARGS...: runs `ersctl [--as ACTOR] ARGS`.
# EXPECT is allow or deny; MUTATES (1/0) says whether an allowed run changes
# something (and so writes an audit row).
check() {
    local want=$1 actor=$2 mutates=$3 desc=$4 before bad=0 why=() name via
    shift 4
    CASES=$((CASES + 1))
    case $want in allow | deny) ;; *) ok 1 "$desc: no rule says ($want)"; return ;; esac
    before=$DATA
    if [ "$actor" = operator ]; then
        run --yes "$@"
        name=$OPERATOR via=
    else
        run --yes --as "$actor" "$@"
        name=$actor via=$OPERATOR
    fi
    snap
    if [ "$want" = allow ]; then
        [ "$RC" -eq 0 ] || { bad=1; why+=("wanted exit 0, got $RC: $ERR"); }
        case $NEW_AUDIT in *denied*) bad=1; why+=("a denied audit row: $NEW_AUDIT") ;; esac
        if [ "$mutates" = 1 ]; then
            case "$NEW_AUDIT ;; " in "ok|$name|$via|"*) ;; *) bad=1; why+=("wanted one ok row for $name via '$via', got: $NEW_AUDIT") ;; esac
        fi
    else
        local lines role msg
        role=$(role_of "$actor")
        [ "$RC" -eq 77 ] || { bad=1; why+=("wanted exit 77, got $RC"); }
        if [ "$1" = --json ]; then # the error is on stdout, stderr stays empty
            [ -z "$ERR" ] || { bad=1; why+=("stderr under --json: $ERR"); }
            msg=$(printf '%s' "$OUT" | sed -n 's/^ *"message": "\(.*\)",$/ersctl: json: \1/p')
        else # `delete --yes` says first what it would delete
            msg=$(printf '%s\n' "$ERR" | grep -v -e '^This deletes ' -e '^  ')
        fi
        lines=$(printf '%s\n' "$msg" | grep -c .)
        [ "$lines" -eq 1 ] || { bad=1; why+=("wanted one error line, got $lines"); }
        printf '%s' "$msg" | grep -Eq -- "^ersctl: [a-z ]+: ($name \($role\) may not [a-z_.]+$|${DENY_RE:-^$})" ||
            { bad=1; why+=("the error does not name the actor and the action: $msg"); }
        [ "$before" = "$DATA" ] || { bad=1; why+=("the data changed:" "$(diff <(echo "$before") <(echo "$DATA") | head -n 6)"); }
        case $NEW_AUDIT in
            "denied|$name|$via|"*" ;; "*) bad=1; why+=("more than one audit row: $NEW_AUDIT") ;;
            "denied|$name|$via|"*) ;;
            *) bad=1; why+=("wanted one denied row for $name via $via, got: '$NEW_AUDIT'") ;;
        esac
    fi
    ok "$bad" "$desc: $( [ "$want" = allow ] && echo allowed || echo denied)" || diag "ersctl $( [ "$actor" = operator ] || echo "--as $actor ")$*" "${why[@]}" "stdout: ${OUT:0:300}"
}

# --- the rules, from the manuals -----------------------------------------
# user_rule ACTOR_ROLE COMMAND TARGET_OWN(1/0) TARGET_ROLE SELF(1/0)
user_rule() {
    local a=$1 cmd=$2 own=$3 role=$4 self=$5 reach=0
    [ "$a" = operator ] && { echo allow; return; }
    # Super admins reach everyone; tenant admins the regular users of their
    # own tenant only (never an admin, not even to look); users nobody else.
    [ "$a" = super_admin ] && reach=1
    [ "$a" = tenant_admin ] && [ "$own" = 1 ] && [ "$role" = user ] && reach=1
    case $cmd in
        show | rename | disable | enable) [ "$self" = 1 ] || [ "$reach" = 1 ] ;; # users: themselves
        passwd-change) [ "$self" = 1 ] ;;          # with the current password: one's own only
        quota | passwd-reset | delete | add) [ "$reach" = 1 ] ;;
        role) [ "$a" = super_admin ] ;;            # only super admins assign roles
        *) echo "no rule for $cmd"; return ;;
    esac && echo allow || echo deny
}
# other_rule ACTOR_ROLE COMMAND TARGET_OWN(1/0)
other_rule() {
    local a=$1 cmd=$2 own=$3
    [ "$a" = operator ] && { echo allow; return; }
    case $cmd in
        tenant-view | audit-view) [ "$a" = super_admin ] || { [ "$a" = tenant_admin ] && [ "$own" = 1 ]; } ;;
        tenant-manage | host-view) [ "$a" = super_admin ] ;;
        host-manage | migrate) false ;;           # server operators only
        *) echo "no rule for $cmd"; return ;;
    esac && echo allow || echo deny
}

ACTORS=(operator sa@alpha.example ta@alpha.example u1@alpha.example)
TARGETS=(sa@alpha.example ta@alpha.example u1@alpha.example u2@alpha.example sa@beta.example ta@beta.example u1@beta.example)
snap

# --- user commands on existing users --------------------------------------
for actor in "${ACTORS[@]}"; do
    arole=$(actor_role "$actor")
    for target in "${TARGETS[@]}"; do
        trole=$(role_of "$target")
        own=0; [ "${target#*@}" = alpha.example ] && own=1
        self=0; [ "$target" = "$actor" ] && self=1
        d="$arole on $( [ $self = 1 ] && echo itself || echo "$trole of $( [ $own = 1 ] && echo own || echo other) tenant")"
        r() { user_rule "$arole" "$1" "$own" "$trole" "$self"; }
        check "$(r show)" "$actor" 0 "$d: user show" user show "$target"
        check "$(r rename)" "$actor" 1 "$d: user edit --first-name" user edit "$target" --first-name "Renamed"
        check "$(r quota)" "$actor" 1 "$d: user edit --quota-mb" user edit "$target" --quota-mb 100
        check "$(r role)" "$actor" 1 "$d: user edit --role (its own role)" user edit "$target" --role "$trole"
        check "$(r passwd-reset)" "$actor" 1 "$d: user passwd (reset)" user passwd "$target" --password-file "$PW"
        DENY_RE='the current password is not right' \
        check "$(r passwd-change)" "$actor" 1 "$d: user passwd --current-password-file" \
            user passwd "$target" --password-file "$PW" --current-password-file "$PW"
        check "$(r disable)" "$actor" 1 "$d: user disable" user disable "$target"
        # enable after an allowed disable changes it back; otherwise it is
        # already enabled and an allowed enable changes nothing -- but an
        # account that disabled itself acts nowhere any more, not even
        # through --as to enable itself: refused in the login's words
        m=0; [ "$(r disable)" = allow ] && m=1
        if [ "$self" = 1 ] && [ "$m" = 1 ]; then
            DENY_RE="$AS_DISABLED" check deny "$actor" 1 "$d: user enable (refused at --as: disabled)" user enable "$target"
            op user enable "$target"; snap
        else
            check "$(r enable)" "$actor" "$m" "$d: user enable" user enable "$target"
        fi
        check "$(r delete)" "$actor" 1 "$d: user delete" user delete "$target"
        if [ "$(r delete)" = allow ]; then mkuser "$target"; snap; fi
    done
done

# --- user add: each role in the own and the other tenant -------------------
for actor in "${ACTORS[@]}"; do
    arole=$(actor_role "$actor")
    for t in alpha beta; do
        own=0; [ $t = alpha ] && own=1
        for role in user tenant_admin super_admin; do
            want=$(user_rule "$arole" add "$own" "$role" 0)
            check "$want" "$actor" 1 "$arole adds a $role to the $( [ $own = 1 ] && echo own || echo other) tenant" \
                user add "new@$t.example" --role "$role" --password-file "$PW"
            if [ "$want" = allow ]; then op user delete "new@$t.example"; snap; fi
        done
    done
done

# --- lists show what each may see ---------------------------------------
for actor in "${ACTORS[@]}"; do
    arole=$(actor_role "$actor")
    check allow "$actor" 0 "$arole: user list" --json user list
    got=$(printf '%s' "$OUT" | grep -o '"address": "[^"]*"' | sed 's/.*: "//; s/"$//' | tr '\n' ' ')
    case $arole in
        operator | super_admin) want="sa@alpha.example sa@beta.example ta@alpha.example ta@beta.example u1@alpha.example u1@beta.example u2@alpha.example u2@beta.example " seen=everyone ;;
        tenant_admin) want="u1@alpha.example u2@alpha.example " seen="only its tenant's regular users" ;;
        user) want="$actor " seen="only itself" ;;
    esac
    is "$got" "$want" "$arole: user list shows $seen"
done
check deny ta@alpha.example 0 "tenant_admin: user list --tenant of another tenant" user list --tenant Beta
check allow ta@alpha.example 0 "tenant_admin: user list --tenant of its own" user list --tenant alpha.example --role tenant_admin
is "$(printf '%s' "$OUT" | grep -c '@')" 0 "tenant_admin: user list --role tenant_admin shows no admin"

# --- a disabled user acts nowhere: an administrator enables it -------------
op user disable u2@alpha.example
snap
DENY_RE="$AS_DISABLED" \
    check deny u2@alpha.example 0 "user: enable itself after an administrator disabled it" user enable u2@alpha.example
check allow ta@alpha.example 1 "tenant_admin: enable the user it may reach" user enable u2@alpha.example
check allow u2@alpha.example 1 "user: disable itself" user disable u2@alpha.example
DENY_RE="$AS_DISABLED" \
    check deny u2@alpha.example 0 "user: enable itself after disabling itself: refused at --as" user enable u2@alpha.example
check allow ta@alpha.example 1 "tenant_admin: enable the user that disabled itself" user enable u2@alpha.example

# --- tenants, hosts, audit log, schema ------------------------------------
for actor in "${ACTORS[@]}"; do
    arole=$(actor_role "$actor")
    check "$(other_rule "$arole" tenant-view 1)" "$actor" 0 "$arole: tenant show own" tenant show Alpha
    check "$(other_rule "$arole" tenant-view 0)" "$actor" 0 "$arole: tenant show other" tenant show beta.example
    check "$(other_rule "$arole" tenant-view 1)" "$actor" 0 "$arole: tenant domain list own" tenant domain list Alpha
    check "$(other_rule "$arole" tenant-view 0)" "$actor" 0 "$arole: tenant domain list other" tenant domain list Beta
    # a list is allowed to whoever may view some tenant; it shows only those
    want=allow; [ "$arole" = user ] && want=deny
    check $want "$actor" 0 "$arole: tenant list" --json tenant list
    if [ $want = allow ]; then
        got=$(printf '%s' "$OUT" | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
        if [ "$arole" = tenant_admin ]; then is "$got" "Alpha" "tenant_admin: tenant list shows its own tenant only"
        else is "$got" "Alpha Beta Gamma" "$arole: tenant list shows every tenant"; fi
    fi
    want=$(other_rule "$arole" tenant-manage 0)
    check "$want" "$actor" 1 "$arole: tenant add" tenant add Delta --domain delta.example "${M[@]}"
    if [ "$want" = allow ]; then op tenant delete Delta; snap; fi
    check "$(other_rule "$arole" tenant-manage 1)" "$actor" 1 "$arole: tenant edit own" tenant edit Alpha --max-users none
    check "$(other_rule "$arole" tenant-manage 0)" "$actor" 1 "$arole: tenant edit other" tenant edit Beta --max-users none
    want=$(other_rule "$arole" tenant-manage 1)
    check "$want" "$actor" 1 "$arole: tenant domain add own" tenant domain add Alpha extra.alpha.example
    if [ "$want" = allow ]; then op tenant domain remove Alpha extra.alpha.example; snap; fi
    want=$(other_rule "$arole" tenant-manage 0)
    check "$want" "$actor" 1 "$arole: tenant domain add other" tenant domain add Beta extra.beta.example
    if [ "$want" = allow ]; then op tenant domain remove Beta extra.beta.example; snap; fi
    want=$(other_rule "$arole" tenant-manage 1)
    if [ "$want" = deny ]; then # deleting its own tenant would end this test for the others
        check deny "$actor" 1 "$arole: tenant delete own" tenant delete Alpha
    fi
    want=$(other_rule "$arole" tenant-manage 0)
    check "$want" "$actor" 1 "$arole: tenant delete other" tenant delete Gamma
    if [ "$want" = allow ]; then op tenant add Gamma --domain gamma.example "${M[@]}"; snap; fi

    check "$(other_rule "$arole" host-view 0)" "$actor" 0 "$arole: server host list" server host list
    want=$(other_rule "$arole" host-manage 0)
    check "$want" "$actor" 1 "$arole: server host add" server host add new.example.net --kind smtp
    if [ "$want" = allow ]; then op server host remove new.example.net; snap; fi
    check "$want" "$actor" 1 "$arole: server host remove" server host remove spare.example.net
    if [ "$want" = allow ]; then op server host add spare.example.net --kind imap --port 143; snap; fi

    check "$(other_rule "$arole" audit-view 1)" "$actor" 0 "$arole: audit list" --json audit list --limit 100000
    if [ "$arole" = tenant_admin ]; then
        got=$(printf '%s' "$OUT" | grep -o '"tenant": "[^"]*"' | sort -u | tr '\n' ' ')
        is "$got" '"tenant": "Alpha" ' "tenant_admin: audit list shows its own tenant's rows only"
    fi
    check "$(other_rule "$arole" migrate 0)" "$actor" 0 "$arole: db migrate" db migrate
done

# --- the scanner (manual 000 "Self-Tests"): status and records, self-tests
scan_rule() { # ACTOR_ROLE COMMAND TARGET_OWN(1/0)
    local a=$1 cmd=$2 own=$3
    [ "$a" = operator ] && { echo allow; return; }
    case $cmd in
        # "Tenant Admins can view scanner status, same-tenant domain statistics ..."
        view) [ "$a" = super_admin ] || { [ "$a" = tenant_admin ] && [ "$own" = 1 ]; } ;;
        selftest) [ "$a" = super_admin ] ;;    # "Only Super Admins can run self-tests"
        prune) [ "$a" = super_admin ] ;;
        *) echo "no rule for $cmd"; return ;;
    esac && echo allow || echo deny
}
for actor in "${ACTORS[@]}"; do
    arole=$(actor_role "$actor")
    check "$(scan_rule "$arole" view 1)" "$actor" 0 "$arole: scan status" scan status
    check "$(scan_rule "$arole" view 1)" "$actor" 0 "$arole: scan tests" scan tests
    check "$(scan_rule "$arole" view 1)" "$actor" 0 "$arole: scan list own" scan list --tenant Alpha
    check "$(scan_rule "$arole" view 0)" "$actor" 0 "$arole: scan list other" scan list --tenant beta.example
    check "$(scan_rule "$arole" view 0)" "$actor" 0 "$arole: scan stats other" scan stats --tenant Beta
    check "$(scan_rule "$arole" selftest 0)" "$actor" 1 "$arole: scan test clean" scan test clean
    check "$(scan_rule "$arole" prune 0)" "$actor" 1 "$arole: scan prune" scan prune
done

# --- what the audit log shows --------------------------------------------
run --json audit list --actor ta@alpha.example --limit 100000
like "$OUT" "\"actor\": \"ta@alpha.example \\(via $OPERATOR\\)\"" "audit list names the actor (via the operator)"
like "$OUT" '"outcome": "denied"' "... with the refusals"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE outcome = 'denied' AND via IS NULL")" 0 "every refusal here was of an --as actor"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE outcome = 'denied' AND action LIKE 'user.%' AND tenant_name IS NULL")" 0 \
    "every refused user command names the tenant of its target"
DENY_RE='^$' check deny u2@alpha.example 1 "user: disable another, named in capitals" user disable U1@ALPHA.Example
is "$(sql "SELECT target || ' ' || tenant_name FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "u1@alpha.example Alpha" \
    "the refusal records the target as stored, with its tenant"
DENY_RE='^$' check deny u2@alpha.example 0 "user: show another, named in capitals" user show U1@ALPHA.Example
is "$(sql "SELECT target || ' ' || tenant_name FROM ers.audit_log ORDER BY id DESC LIMIT 1")" "u1@alpha.example Alpha" \
    "... also when only looking"

# --- aliases, when this build has the alias commands -----------------------
if "$ERSCTL" help alias add >/dev/null 2>&1; then
    snap
    n=0
    for actor in "${ACTORS[@]}"; do
        arole=$(actor_role "$actor")
        for target in "${TARGETS[@]}"; do
            trole=$(role_of "$target")
            own=0; [ "${target#*@}" = alpha.example ] && own=1
            self=0; [ "$target" = "$actor" ] && self=1
            d="$arole on $( [ $self = 1 ] && echo itself || echo "$trole of $( [ $own = 1 ] && echo own || echo other) tenant")"
            # Aliases: tenant admins for the regular users of their tenant,
            # super admins across tenants, users not even for themselves.
            want=$(user_rule "$arole" quota "$own" "$trole" "$self")
            alias="alias$((n += 1))@${target#*@}"
            check "$want" "$actor" 1 "$d: alias add" alias add "$alias" --to "$target"
            [ "$want" = allow ] || { op alias add "$alias" --to "$target"; snap; }
            check "$want" "$actor" 1 "$d: alias delete" alias delete "$alias"
            [ "$want" = allow ] || { op alias delete "$alias"; snap; }
        done
        check allow "$actor" 0 "$arole: alias list" alias list
    done
    op alias add info@alpha.example --to u1@alpha.example
    op alias add boss@alpha.example --to sa@alpha.example
    snap
    run --json --as ta@alpha.example alias list
    unlike "$OUT" "boss@alpha.example" "tenant_admin: alias list leaves out an admin's alias"
    like "$OUT" "info@alpha.example" "... and shows a regular user's"
    run --json --as u2@alpha.example alias list
    unlike "$OUT" "info@alpha.example" "user: alias list leaves out another user's alias"
    check deny ta@alpha.example 0 "tenant_admin: alias list --tenant of another tenant" alias list --tenant Beta
else
    ok 0 "# skip this build has no alias commands"
fi

echo "# $CASES cases"
done_testing
