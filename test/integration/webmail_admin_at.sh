#!/usr/bin/env bash
# The admin panel's Aliases and Tenants tabs over HTTPS (curl against the
# stack's lighttpd + ers-webmail.cgi; manual 000 "Admin Features",
# "Managing Email Aliases", "Managing Tenants"): the sub-tabs per role (no
# Tenants tab but for super admins); the alias table per role, paged on the
# server, searchable, the tenant filter; Add Alias (the mail server
# delivers to it at once, and stops at once after Delete), Delete with its
# confirmation; the Tenants table, Add Tenant from the approved hosts,
# Edit, the domains (add, make primary, remove) with DKIM and Check DNS,
# Delete with the tenant's name typed; bad input refused in words with
# nothing changed; and the policy over HTTP: every new GET and POST
# replayed by a user, a tenant admin and a super admin against objects in
# and out of its scope, with valid CSRF tokens, refused exactly where
# `ersctl --as` refuses, and a refusal changes nothing.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

BASE=https://127.0.0.1:$WEB_PORT
n=$RANDOM
A=at$n-a.test B=at$n-b.test P=at$n-p.test
host=webat.ers.test
PW=admin-password-123
printf '%s\n' "$PW" >"$T_DIR/pw"

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
for d in $A $B $P; do
    run -q tenant add "AT $d" --domain $d --imap-host $host --imap-port 143 --smtp-host $host
done
add() { # ADDRESS ROLE: a user with the known password
    run -q user add "$1" --role "$2" --quota-mb 50 --password-file "$T_DIR/pw"
    [ "$RC" -eq 0 ] || diag "user add $1: $ERR"
}
SA=sa@$A TA=ta@$A U=u@$A
add $SA super_admin; add $TA tenant_admin; add $U user
# Users the aliases deliver to, in and out of each actor's scope.
T_USER=t-user@$A T_TA=t-ta@$A T_UB=t-ub@$B T_SA=t-sa@$B
declare -A ROLE_OF=([$T_USER]=user [$T_TA]=tenant_admin [$T_UB]=user [$T_SA]=super_admin)
for t in "${!ROLE_OF[@]}"; do add "$t" "${ROLE_OF[$t]}"; done
# One alias of each.
declare -A ALIAS_OF=([$T_USER]=al-user@$A [$T_TA]=al-ta@$A [$T_UB]=al-ub@$B [$T_SA]=al-sa@$B)
for t in "${!ALIAS_OF[@]}"; do run -q alias add "${ALIAS_OF[$t]}" --to "$t"; done
NO_AUDIT="AND c.relname NOT IN ('audit_log', 'audit_log_id_seq', 'session')"

declare -A JAR TOKEN
login() { # ADDRESS PASSWORD: a session in JAR[ADDRESS], its CSRF token in TOKEN[ADDRESS]
    JAR[$1]=$T_DIR/jar-${1%@*}; rm -f "${JAR[$1]}"
    web "${JAR[$1]}" POST /login --data-urlencode "email=$1" --data-urlencode "password=$2"
    local code=$CODE
    web "${JAR[$1]}" GET /mfa
    TOKEN[$1]=$(csrf)
    CODE=$code
}
as() { local who=$1; shift; web "${JAR[$who]}" "$@"; }   # as ADDRESS METHOD PATH [args]
post() { local who=$1 path=$2; shift 2; as "$who" POST "$path" --data-urlencode "csrf=${TOKEN[$who]}" "$@"; }
enc() { printf '%s' "$1" | sed 's/@/%40/g; s/ /%20/g'; }
# rows: the first column (class="email") of the table of the last page, one a line.
rows() { printf '%s' "$BODY" | grep -o '<td class="email" data-label="[^"]*">[^<]*' | sed 's/.*>//'; }
unchanged() { # DESC: the database (but the audit log) is as in $before, and the status was $1
    local want=$1 desc=$2 after bad=0
    after=$(DUMP_EXCEPT=$NO_AUDIT dump)
    [ "$CODE" = "$want" ] || bad=1
    [ "$before" = "$after" ] || bad=1
    ok $bad "$desc" || diag "status $CODE (wanted $want)" "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
}

for who in $SA $TA $U; do
    login $who "$PW"
    is "$CODE" 303 "$who logs in"
done

# --- the sub-tabs --------------------------------------------------------------
as $TA GET /admin/users
like "$BODY" '<nav class="subtabs" aria-label="Admin"><a href="/admin/users" aria-current="page">Users</a><a href="/admin/aliases">Aliases</a><a href="/admin/shared">Shared mailboxes</a><a href="/admin/security">Security</a></nav>' \
    "a tenant admin's sub-tabs: Users, Aliases, Shared mailboxes and Security, no Tenants"
as $SA GET /admin/aliases
like "$BODY" '<a href="/admin/users">Users</a><a href="/admin/aliases" aria-current="page">Aliases</a><a href="/admin/shared">Shared mailboxes</a><a href="/admin/tenants">Tenants</a><a href="/admin/security">Security</a></nav>' \
    "a super admin's sub-tabs: Users, Aliases, Shared mailboxes, Tenants and Security"
as $U GET /admin/aliases
is "$CODE" 403 "a user is refused the Aliases tab"
unlike "$BODY" "al-user@" "... which shows no alias"

# --- the alias table per role ---------------------------------------------------
as $TA GET /admin/aliases
is "$CODE" 200 "a tenant admin's Aliases table"
is "$(rows | tr '\n' ' ')" "al-user@$A " "... holds exactly the aliases of its tenant's regular users"
like "$BODY" '<th scope="col">Alias</th><th scope="col">User</th>' "... alias and the user it belongs to"
like "$BODY" "al-user@$A</td><td data-label=\"User\">$T_USER<" "... the alias -> its user"
like "$BODY" 'href="/admin/aliases/new">Add Alias<' "... an Add Alias button"
like "$BODY" 'Mail server note:</strong> the alias mapping is stored in the database, and here the mail server reads it from there for every message' \
    "... and the mail-server note, as it is here"
unlike "$BODY" 'name="tenant"' "... no tenant filter"
as $TA GET "/admin/aliases?tenant=$(enc "AT $B")"
unlike "$(rows)" "@$B" "a tenant admin's hand-made tenant filter shows no other tenant"
as $SA GET /admin/aliases
like "$(rows | tr '\n' ' ')" "al-sa@$B.*al-ta@$A.*al-ub@$B.*al-user@$A" "a super admin sees aliases across tenants, admins' too, by alias"
like "$BODY" '<select name="tenant">' "... with a tenant filter"
as $SA GET "/admin/aliases?tenant=$(enc "AT $B")"
is "$(rows | tr '\n' ' ')" "al-sa@$B al-ub@$B " "the tenant filter shows that tenant's aliases only"
as $SA GET "/admin/aliases?q=T-UB"
is "$(rows | tr '\n' ' ')" "al-ub@$B " "search finds an alias by its user's address, in any case"
as $SA GET "/admin/aliases?q=AL-US"
is "$(rows | tr '\n' ' ')" "al-user@$A " "... and by part of the alias"

# Paging: 55 aliases in a tenant of their own, 50 a page, by alias.
add owner@$P user
for i in $(seq -w 1 55); do run -q alias add "p$i@$P" --to owner@$P; done
as $SA GET "/admin/aliases?tenant=$(enc "AT $P")"
is "$(rows | wc -l)" 50 "the alias table shows 50 a page"
is "$(rows | tail -n 1)" "p50@$P" "... the first 50 by alias"
next=$(printf '%s' "$BODY" | grep -o 'href="[^"]*after=[^"]*">Next page' | sed 's/href="//; s/">.*//; s/&amp;/\&/g')
like "$next" "after=p50%40$P" "... and a Next page link with the keyset cursor"
as $SA GET "$next"
is "$(rows | tr '\n' ' ')" "p51@$P p52@$P p53@$P p54@$P p55@$P " "the next page holds the rest"
unlike "$BODY" 'Next page' "... and no further link"
expect 0 "ersctl alias list still lists every alias (no limit)" --json alias list --tenant "AT $P"
is "$(printf '%s' "$OUT" | grep -c '"address"')" 55 "... all 55"

# --- Add Alias -----------------------------------------------------------------------
as $TA GET /admin/aliases/new
like "$BODY" '<select name="user" required><option value="">Select the user</option>' "Add Alias: select the user"
like "$BODY" "<option value=\"$T_USER\">$T_USER</option>" "... a tenant admin may pick its tenant's regular users"
unlike "$BODY" "option value=\"$T_TA\"" "... but no admin"
unlike "$BODY" "option value=\"$T_UB\"" "... nor another tenant's user"
like "$BODY" 'name="alias".*>Create Alias<' "... enter the alias, Create Alias"
as $SA GET /admin/aliases/new
like "$BODY" "option value=\"$T_SA\"" "a super admin may pick users across tenants, admins too"

post $TA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias=Sales@$A"
is "$CODE" 200 "Create Alias"
like "$BODY" "Mail to <strong>sales@$A</strong> now goes to $T_USER" "... says what it made"
is "$(sql "SELECT m.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id WHERE a.address = 'sales@$A'")" \
    "$T_USER" "... the alias is in the database"
# "here the mail server reads the mapping at once": a message to the new
# alias reaches the user's mailbox, with nothing reloaded.
subj="at-alias-$n"
swaks --server 127.0.0.1:$SMTP_PORT --from sender@outside.example --to "sales@$A" --helo client.example.org \
    --header "Subject: $subj" --body hello --timeout 20 >"$T_DIR/swaks.out" 2>&1
is $? 0 "Postfix accepts mail for the alias at once" || diag "$(tail -n 5 "$T_DIR/swaks.out")"
got=0
for i in $(seq 1 100); do
    out=$(curl -s --max-time 10 --ssl-reqd --cacert "$TLS_CA" --user "$T_USER:$PW" "imap://127.0.0.1:$IMAP_PORT/INBOX" \
        -X "SEARCH SUBJECT \"$subj\"" | tr -d '\r')
    [ "${out#\* SEARCH}" != "" ] && [ "${out#\* SEARCH}" != "$out" ] && { got=1; break; }
    sleep 0.1
done
is $got 1 "... and delivers it to the user's mailbox"

before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias=x@$B"
is "$CODE" 422 "an alias outside the user's tenant's domains is refused"
like "$BODY" "class=\"field-error\" id=\"alias-error\">an alias must be in one of the domains of its user&#39;s tenant" \
    "... in words next to Alias"
like "$BODY" "name=\"alias\" value=\"x@$B\"" "... the form kept"
post $SA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias=$T_USER"
is "$CODE" 422 "the user's own address as alias is refused"
like "$BODY" "is the user&#39;s own address; an alias is another one" "... saying why"
post $SA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias=not an address"
is "$CODE" 422 "a malformed alias is refused"
post $SA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias="
is "$CODE" 422 "an empty alias is refused"
like "$BODY" 'id="alias-error">Enter the alias email address' "... asking for it"
post $SA /admin/aliases/new --data-urlencode "alias=y@$A"
is "$CODE" 422 "no user selected is refused"
like "$BODY" 'id="user-error">Select the user' "... asking for one"
post $SA /admin/aliases/new --data-urlencode "user=nobody@$A" --data-urlencode "alias=y@$A"
is "$CODE" 404 "a user that does not exist is refused"
like "$BODY" "id=\"user-error\">no user nobody@$A" "... next to User"
post $SA /admin/aliases/new --data-urlencode "user=$T_USER" --data-urlencode "alias=$U"
is "$CODE" 409 "an address in use is refused"
like "$BODY" "id=\"alias-error\">[^<]*$U" "... saying by what"
unchanged 409 "... and none of these changed anything"

# --- Delete -----------------------------------------------------------------------------------
as $TA GET "/admin/aliases/delete?a=$(enc "sales@$A")"
like "$BODY" "<h1>Delete sales@$A\\?</h1>.*no longer reach $T_USER.*>Delete sales@$A</button>" "Delete asks first, naming the alias"
is "$(sql "SELECT count(*) FROM ers.alias WHERE address = 'sales@$A'")" 1 "... the GET deleted nothing"
post $TA /admin/aliases/delete --data-urlencode "a=sales@$A"
is "$CODE" 200 "Delete confirmed"
like "$BODY" "The alias sales@$A was deleted" "... says so"
is "$(sql "SELECT count(*) FROM ers.alias WHERE address = 'sales@$A'")" 0 "... the alias is gone"
swaks --server 127.0.0.1:$SMTP_PORT --from sender@outside.example --to "sales@$A" --helo client.example.org \
    --header "Subject: gone-$n" --body hello --timeout 20 --quit-after RCPT >"$T_DIR/swaks.out" 2>&1
grep -q '^<\*\* 5[0-9][0-9]' "$T_DIR/swaks.out"
is $? 0 "... and the mail server refuses mail for it at once" || diag "$(tail -n 5 "$T_DIR/swaks.out")"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/aliases/delete --data-urlencode "a=sales@$A"
is "$CODE" 404 "deleting an alias that is not there says so"
like "$BODY" "no alias sales@$A" "... in words"
unchanged 404 "... nothing changed"

# --- the alias policy over HTTP ----------------------------------------------------------------
# Each (actor, user the alias delivers to, operation) is asked of the
# webmail and of `ersctl --as`; they must agree.  Seeing an alias (its
# Delete page) is allowed where `ersctl --as ACTOR alias list` lists it.
for actor in $U $TA $SA; do
    for t in $T_USER $T_TA $T_UB $T_SA; do
        al=${ALIAS_OF[$t]} dom=${t#*@}
        for op in view delete add; do
            before=$(DUMP_EXCEPT=$NO_AUDIT dump)
            case $op in
                view) as $actor GET "/admin/aliases/delete?a=$(enc "$al")" ;;
                delete) post $actor /admin/aliases/delete --data-urlencode "a=$al" ;;
                add) post $actor /admin/aliases/new --data-urlencode "user=$t" --data-urlencode "alias=new-$op@$dom" ;;
            esac
            after=$(DUMP_EXCEPT=$NO_AUDIT dump)
            wcode=$CODE
            if [ "$wcode" = 200 ]; then
                [ $op = delete ] && run -q alias add "$al" --to "$t"
                [ $op = add ] && run -q alias delete "new-$op@$dom"
            fi
            case $op in
                view) run --json --as $actor alias list
                      if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT" | grep -q "\"$al\""; then RC=77; fi ;;
                delete) run --yes --as $actor alias delete "$al"
                        [ "$RC" -eq 0 ] && run -q alias add "$al" --to "$t" ;;
                add) run --as $actor alias add "new-$op@$dom" --to "$t"
                     [ "$RC" -eq 0 ] && run -q alias delete "new-$op@$dom" ;;
            esac
            desc="${actor%%@*}: $op alias of ${ROLE_OF[$t]} ${t#*@}"
            if [ "$RC" -eq 0 ]; then
                is "$wcode" 200 "$desc: allowed as by ersctl --as"
            elif [ "$RC" -eq 77 ]; then
                bad=0
                [ "$wcode" = 403 ] || bad=1
                [ "$before" = "$after" ] || bad=1
                ok $bad "$desc: refused as by ersctl --as, nothing changed" ||
                    diag "web status $wcode" "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
            else
                ok 1 "$desc: ersctl --as exited $RC"; diag "$ERR"
            fi
        done
    done
done

# --- the Tenants tab: super admins only --------------------------------------------------------
as $SA GET /admin/tenants
is "$CODE" 200 "a super admin's Tenants table"
like "$BODY" 'href="/admin/tenants/new">Add Tenant<' "... with Add Tenant"
like "$BODY" "<td class=\"email\" data-label=\"Name\">AT $A</td><td data-label=\"Domains\">$A \\(primary\\)</td><td data-label=\"Users\">5 / no limit</td><td data-label=\"Storage\">quotas 250 MB / no limit" \
    "... a tenant with its domains, users and storage against its limits"
like "$BODY" "$host:143<br>$host:587" "... and its IMAP and SMTP hosts"

# Every GET of the tab, and every POST, by a user and a tenant admin (its
# own tenant's objects and another's): refused as by `ersctl --as`, in the
# policy's words, nothing changed.
for actor in $U $TA; do
    for path in /admin/tenants /admin/tenants/new "/admin/tenants/edit?t=$(enc "AT $A")" \
        "/admin/tenants/domains?t=$(enc "AT $A")" "/admin/tenants/dns?t=$(enc "AT $A")&d=$A" \
        "/admin/tenants/delete?t=$(enc "AT $A")" "/admin/tenants/edit?t=$(enc "AT $B")" "/admin/tenants/delete?t=$(enc "AT $B")"; do
        as $actor GET "$path"
        is "$CODE" 403 "${actor%%@*}: GET $path is refused"
        if [ $actor = $TA ]; then
            like "$BODY" "ta@$A \\(tenant_admin\\) may not tenant.view" "... in the policy's words"
        fi
    done
done
run --as $TA tenant edit "AT $A" --max-users 5
is "$RC" 77 "ersctl --as a tenant admin: tenant edit of its own tenant is refused"
tenant_op() { # ACTOR OP TENANT-DOMAIN: a Tenants POST
    local t="AT $3"
    case $2 in
        add) post $1 /admin/tenants/new --data-urlencode "name=New $3" --data-urlencode "domain=new.$3" \
                 --data-urlencode "imap_host=$host" --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" \
                 --data-urlencode smtp_port=587 ;;
        edit) post $1 /admin/tenants/edit --data-urlencode "t=$t" --data-urlencode "name=$t" \
                  --data-urlencode "imap_host=$host" --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" \
                  --data-urlencode smtp_port=587 --data-urlencode max_users=5 --data-urlencode max_storage= ;;
        domain) post $1 /admin/tenants/domains/add --data-urlencode "t=$t" --data-urlencode "d=extra.$3" ;;
        primary) post $1 /admin/tenants/domains/primary --data-urlencode "t=$t" --data-urlencode "d=two.$3" ;;
        remove) post $1 /admin/tenants/domains/remove --data-urlencode "t=$t" --data-urlencode "d=two.$3" ;;
        delete) post $1 /admin/tenants/delete --data-urlencode "t=$t" --data-urlencode "confirm=$t" ;;
    esac
}
run -q tenant domain add "AT $A" two.$A
run -q tenant domain add "AT $B" two.$B
for actor in $U $TA; do
    for d in $A $B; do
        for op in add edit domain primary remove delete; do
            before=$(DUMP_EXCEPT=$NO_AUDIT dump)
            tenant_op $actor $op $d
            wcode=$CODE
            after=$(DUMP_EXCEPT=$NO_AUDIT dump)
            case $op in
                add) run --as $actor tenant add "New $d" --domain "new.$d" --imap-host $host --imap-port 143 --smtp-host $host ;;
                edit) run --as $actor tenant edit "AT $d" --max-users 5 ;;
                domain) run --as $actor tenant domain add "AT $d" "extra.$d" ;;
                primary) run --as $actor tenant domain primary "AT $d" "two.$d" ;;
                remove) run --as $actor tenant domain remove "AT $d" "two.$d" ;;
                delete) run --yes --as $actor tenant delete "AT $d" ;;
            esac
            bad=0
            [ "$RC" -eq 77 ] || bad=1
            [ "$wcode" = 403 ] || bad=1
            [ "$before" = "$after" ] || bad=1
            ok $bad "${actor%%@*}: $op tenant ${d%%.*}: refused by the webmail as by ersctl --as, nothing changed" ||
                diag "web status $wcode, ersctl exit $RC" "$(diff <(echo "$before") <(echo "$after") | head -n 6)"
        done
    done
done
expect 0 "(the tenants are all still there)" -q tenant show "AT $A"

# --- Add Tenant ------------------------------------------------------------------------------
as $SA GET /admin/tenants/new
like "$BODY" 'name="name".*name="domain".*name="imap_host".*name="imap_port".*name="smtp_host".*name="smtp_port".*name="max_users".*name="max_storage".*>Create Tenant<' \
    "Add Tenant: Name, Domain, IMAP Host and Port, SMTP Host and Port, Max Users, Max Storage, Create Tenant"
like "$BODY" "<select name=\"imap_host\" required><option value=\"\">Select an approved IMAP host</option>.*<option value=\"$host\">$host</option>" \
    "... the IMAP host chosen from the approved hosts"
like "$BODY" "Approved SMTP hosts and ports: [^<]*$host:587 \\(starttls\\)" "... the approved ports said"
like "$BODY" 'name="imap_port" value="993".*name="smtp_port" value="587"' "... ports prefilled 993 and 587"
C=at$n-c.test
post $SA /admin/tenants/new --data-urlencode "name=AT $C" --data-urlencode "domain=$C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" --data-urlencode smtp_port=587 \
    --data-urlencode max_users=10 --data-urlencode max_storage=1000
is "$CODE" 200 "Create Tenant"
run --json tenant show "AT $C"; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" "\"primary_domain\": \"$C\".*\"imap_host\": \"$host\", *\"imap_port\": 143.*\"smtp_port\": 587.*\"max_users\": 10, *\"max_storage_mb\": 1000" \
    "... the tenant as given" || diag "$OUT"

before=$(DUMP_EXCEPT=$NO_AUDIT dump)
bad_tenant() { # DESC STATUS FIELD PATTERN FIELD=VALUE: a good form with one field changed
    local desc=$1 status=$2 field=$3 pat=$4 k args=()
    declare -A f=([name]="AT bad$n" [domain]="bad$n.test" [imap_host]=$host [imap_port]=143 [smtp_host]=$host [smtp_port]=587)
    f[${5%%=*}]=${5#*=}
    for k in "${!f[@]}"; do args+=(--data-urlencode "$k=${f[$k]}"); done
    post $SA /admin/tenants/new "${args[@]}"
    is "$CODE" "$status" "$desc"
    like "$BODY" "id=\"$field-error\">$pat" "... in words next to the field"
}
bad_tenant "an IMAP host not approved is refused" 422 imap_host "imap host other.example is not on the approved list" \
    imap_host=other.example
bad_tenant "an IMAP port not approved is refused" 422 imap_port "imap host $host is approved only on port\\(s\\) 143, not 993" \
    imap_port=993
bad_tenant "a port that is no number is refused" 422 smtp_port "SMTP Port" smtp_port=lots
bad_tenant "Max Users that is no number is refused" 422 max_users "Max Users must be a whole number" max_users=many
bad_tenant "Max Storage below zero is refused" 422 max_storage "Max Storage must be a whole number" max_storage=-5
bad_tenant "a name in use is refused" 409 name "a tenant named &quot;AT $A&quot; already exists" "name=AT $A"
bad_tenant "a domain in use is refused" 409 domain "domain $A already belongs to tenant" "domain=$A"
bad_tenant "a malformed domain is refused" 422 domain "" "domain=not a domain"
like "$BODY" 'name="name" value="AT bad[0-9]*"' "... the form kept"
unchanged 422 "... and none of these changed anything"

# --- Edit ----------------------------------------------------------------------------------------
as $SA GET "/admin/tenants/edit?t=$(enc "AT $C")"
like "$BODY" "name=\"name\" value=\"AT $C\".*name=\"max_users\" value=\"10\".*name=\"max_storage\" value=\"1000\".*>Save<" \
    "Edit shows the tenant as it is"
post $SA /admin/tenants/edit --data-urlencode "t=AT $C" --data-urlencode "name=AT $C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" --data-urlencode smtp_port=587 \
    --data-urlencode max_users=20 --data-urlencode max_storage=
is "$CODE" 200 "Save"
run --json tenant show "AT $C"; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"max_users": 20, *"max_storage_mb": null' "... Max Users changed, Max Storage emptied: no limit" || diag "$OUT"
as $SA GET "/admin/tenants/edit?t=$(enc "AT $C")"
like "$BODY" 'name="time_zone" value="UTC".*name="junk_days" value="30"' "Edit shows the Time Zone and the Junk Retention"
post $SA /admin/tenants/edit --data-urlencode "t=AT $C" --data-urlencode "name=AT $C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" --data-urlencode smtp_port=587 \
    --data-urlencode max_users=20 --data-urlencode max_storage= --data-urlencode time_zone=Europe/Paris --data-urlencode junk_days=14
is "$CODE" 200 "Save a Time Zone and a Junk Retention"
run --json tenant show "AT $C"; OUT=$(printf '%s' "$OUT" | tr -d '\n')
like "$OUT" '"time_zone": "Europe/Paris", *"junk_retention_days": 14' "... both saved" || diag "$OUT"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/tenants/edit --data-urlencode "t=AT $C" --data-urlencode "name=AT $C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" --data-urlencode smtp_port=587 \
    --data-urlencode max_users=20 --data-urlencode time_zone=Mars/Base --data-urlencode junk_days=14
is "$CODE" 422 "an unknown Time Zone is refused"
like "$BODY" 'id="time_zone-error">unknown time zone' "... next to Time Zone"
post $SA /admin/tenants/edit --data-urlencode "t=AT $C" --data-urlencode "name=AT $C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=$host" --data-urlencode smtp_port=587 \
    --data-urlencode max_users=20 --data-urlencode time_zone=Europe/Paris --data-urlencode junk_days=4000
is "$CODE" 422 "a Junk Retention over 3650 days is refused"
like "$BODY" 'id="junk_days-error">Junk Retention must be' "... next to Junk Retention"
unchanged 422 "... neither changed anything"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/tenants/edit --data-urlencode "t=AT $C" --data-urlencode "name=AT $C" --data-urlencode "imap_host=$host" \
    --data-urlencode imap_port=143 --data-urlencode "smtp_host=nope.example" --data-urlencode smtp_port=587
is "$CODE" 422 "Edit to a host not approved is refused"
like "$BODY" 'id="smtp_host-error">smtp host nope.example is not on the approved list' "... next to SMTP Host"
unchanged 422 "... nothing changed"

# --- domains, DKIM, Check DNS ----------------------------------------------------------------------
as $SA GET "/admin/tenants/domains?t=$(enc "AT $C")"
like "$BODY" "<td class=\"email\" data-label=\"Domain\">$C</td><td data-label=\"Primary\">yes</td><td data-label=\"DKIM\">off: no key" \
    "the domains: primary and the DKIM state"
like "$BODY" "href=\"/admin/tenants/dns\\?t=AT%20$C&amp;d=$C\">Check DNS<" "... a Check DNS for each"
post $SA /admin/tenants/domains/add --data-urlencode "t=AT $C" --data-urlencode "d=two.$C"
is "$CODE" 200 "Add Domain"
is "$(sql "SELECT is_primary FROM ers.domain WHERE name = 'two.$C'")" f "... added, not primary"
expect 0 "(a DKIM key for it)" -q dkim enable "two.$C"
as $SA GET "/admin/tenants/domains?t=$(enc "AT $C")"
like "$BODY" "two.$C</td><td data-label=\"Primary\">no</td><td data-label=\"DKIM\">active: signing \\(selector default" \
    "... its DKIM state shows"
post $SA /admin/tenants/domains/primary --data-urlencode "t=AT $C" --data-urlencode "d=two.$C"
is "$(sql "SELECT name FROM ers.domain WHERE is_primary AND name LIKE '%$C'")" "two.$C" "Make primary"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/tenants/domains/remove --data-urlencode "t=AT $C" --data-urlencode "d=two.$C"
is "$CODE" 409 "the primary domain cannot be removed"
like "$BODY" "two.$C is the primary domain of tenant" "... saying why"
post $SA /admin/tenants/domains/add --data-urlencode "t=AT $C" --data-urlencode "d=$A"
is "$CODE" 409 "a domain of another tenant cannot be added"
post $SA /admin/tenants/domains/add --data-urlencode "t=AT $C" --data-urlencode "d="
is "$CODE" 422 "an empty domain is refused"
unchanged 422 "... none of these changed anything"
post $SA /admin/tenants/domains/primary --data-urlencode "t=AT $C" --data-urlencode "d=$C"
post $SA /admin/tenants/domains/remove --data-urlencode "t=AT $C" --data-urlencode "d=two.$C"
is "$CODE" 200 "Remove a domain no longer primary"
is "$(sql "SELECT count(*) FROM ers.domain WHERE name = 'two.$C'")" 0 "... it is gone"

# Check DNS runs `dns check` now: with a resolver where nothing answers,
# every lookup failed, and the page says so.
webyaml=$ERS_STACK_DIR/web/ers.yaml
cp "$webyaml" "$T_DIR/web-ers.yaml"
printf '  mail_ipv4: 127.0.0.1\n  resolver: 127.0.0.1:9\n  timeout: 1\n' >>"$webyaml"
as $SA GET "/admin/tenants/dns?t=$(enc "AT $C")&d=$C"
cp "$T_DIR/web-ers.yaml" "$webyaml"
is "$CODE" 200 "Check DNS"
like "$BODY" "<h1>DNS status of $C</h1>.*Not ready: [0-9]+ ok, [0-9]+ missing, [0-9]+ wrong, [0-9]+ harmful, [1-9][0-9]* failed lookups" \
    "... says the domain is not ready and why" || diag "$(printf '%s' "$BODY" | sed -n 's/.*<main[^>]*>//p' | head -c 600)"
like "$BODY" 'data-label="Record">MX MX' "... record by record"
as $SA GET "/admin/tenants/dns?t=$(enc "AT $C")&d=$A"
is "$CODE" 404 "Check DNS of another tenant's domain through this one is refused"

# --- Delete ---------------------------------------------------------------------------------------
add c1@$C user; add c2@$C user
run -q alias add info@$C --to c1@$C
run -q forward add c2@$C --to away@example.org --keep-copy
as $SA GET "/admin/tenants/delete?t=$(enc "AT $C")"
like "$BODY" "<h1>Delete tenant AT $C\\?</h1>.*remove all associated users, aliases, and data" "Delete says what it is"
like "$BODY" "1 domain\\(s\\): $C</li><li>2 user\\(s\\) with their mailboxes</li><li>1 alias\\(es\\)</li><li>1 forward\\(s\\) and catch-all\\(s\\)</li><li>[0-9]+ message\\(s\\)" \
    "... and what will be removed: users, aliases, forwards, mail"
like "$BODY" "Type the tenant's name, AT $C, to confirm<input name=\"confirm\"" "... asks for the name typed"
before=$(DUMP_EXCEPT=$NO_AUDIT dump)
post $SA /admin/tenants/delete --data-urlencode "t=AT $C" --data-urlencode "confirm=at $C"
is "$CODE" 422 "a name typed wrong deletes nothing"
like "$BODY" "is not the tenant&#39;s name, AT $C: nothing was deleted" "... saying so"
post $SA /admin/tenants/delete --data-urlencode "t=AT $C"
is "$CODE" 422 "no name typed deletes nothing"
unchanged 422 "... nothing changed"
id=$(sql "SELECT id FROM ers.tenant WHERE name = 'AT $C'")
post $SA /admin/tenants/delete --data-urlencode "t=AT $C" --data-urlencode "confirm=AT $C" --data-urlencode "id=$id"
is "$CODE" 200 "Delete with the name typed"
like "$BODY" "Tenant &quot;AT $C&quot; was deleted with its 1 domain\\(s\\), 2 user\\(s\\), 1 alias\\(es\\) and 1 forward\\(s\\)" "... says what went"
is "$(sql "SELECT count(*) FROM ers.tenant WHERE name = 'AT $C'") $(sql "SELECT count(*) FROM ers.mailbox WHERE address LIKE '%@$C'")" \
    "0 0" "... the tenant and its users are gone"

before=$(DUMP_EXCEPT=$NO_AUDIT dump)
as $TA POST /admin/tenants/delete --data-urlencode "t=AT $B" --data-urlencode "confirm=AT $B" --data-urlencode "csrf=wrong"
unchanged 403 "a POST without the session's CSRF token is refused, nothing changed"

for d in $A $B $P; do run -q tenant delete "AT $d" --yes; done
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
