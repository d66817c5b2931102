# Send limits through ersctl (manual 002 "Email Rate Limiting", manual 003
# "Number of mails sent per hour"): set and show at server, tenant, domain
# and mailbox level; inheritance mailbox -> domain -> tenant -> server with
# the level each value comes from; 0 and 1 meaning no sending; one audit row
# per change; bad input refused with a clear message, nothing changed and no
# audit row; and the policy through --as for every role.
. "$(dirname "$0")/lib.sh"
new_db
OPERATOR="operator:$(id -un)"
PW=$T_DIR/pw
printf 'limits-pass-1234\n' >"$PW"

# jget PATH: a value of $OUT (JSON) by a dotted path; null, true, false as such.
jget() {
    printf '%s' "$OUT" | perl -MJSON::PP -e '
        my $v = JSON::PP->new->decode(do { local $/; <STDIN> });
        $v = ref $v eq "HASH" ? $v->{$_} : undef for split /\./, $ARGV[0];
        print !defined $v ? "null" : JSON::PP::is_bool($v) ? ($v ? "true" : "false") : $v' "$1"
}
# in_force KEY: "EFFECTIVE from LEVEL" from `limits show --json` in $OUT.
in_force() { echo "$(jget "limits.$1.effective") from $(jget "limits.$1.from")"; }
show_json() { run --json limits show "$@"; }
audit_rows() { sql "SELECT count(*) FROM ers.audit_log WHERE action = 'limits.set' AND outcome = 'ok'"; }

expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: Acme's second domain" tenant domain add Acme acme-mail.example
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${M[@]}"
for u in anna@acme.example bob@acme.example carl@acme-mail.example ob@other.example; do
    expect 0 "setup: user $u" user add "$u" --password-file "$PW"
done
expect 0 "setup: a tenant admin of Acme" user add ta@acme.example --role tenant_admin --password-file "$PW"
expect 0 "setup: a super admin of Acme" user add sa@acme.example --role super_admin --password-file "$PW"

# --- nothing set: unlimited -------------------------------------------------------
expect 0 "show the server's defaults" limits show --server
like "$OUT" '^limits of the server' "the heading names the server"
like "$OUT" 'LIMIT +SET HERE +IN FORCE \(PER HOUR\) +FROM +SENT THIS HOUR' "the columns"
like "$OUT" 'per-mailbox +none +unlimited +- +-' "unset at server level: none, unlimited"
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox) $(in_force per_domain) $(in_force total)" \
    "null from null null from null null from null" "a mailbox with nothing set anywhere: unlimited three times"
is "$(jget sending_disabled)" false "... and it may send"
is "$(jget limits.per_mailbox.sent_this_hour)" 0 "... nothing sent this hour"

# --- inheritance ---------------------------------------------------------------------
expect 0 "server defaults" limits set --server --per-mailbox 500 --per-domain 2000 --total 5000
like "$OUT" 'per-domain +2000 +2000 +server' "set shows the new values"
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox); $(in_force per_domain); $(in_force total)" \
    "500 from server; 2000 from server; 5000 from server" "everything from the server"
expect 0 "a tenant's per-mailbox limit" limits set --tenant Acme --per-mailbox 300
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox)" "300 from tenant" "the tenant's comes before the server's"
expect 0 "a domain's per-mailbox limit" limits set --domain acme.example --per-mailbox 200
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox)" "200 from domain" "the domain's comes before the tenant's"
show_json --mailbox carl@acme-mail.example
is "$(in_force per_mailbox)" "300 from tenant" "another domain of the tenant keeps the tenant's"
expect 0 "a mailbox's own limit" limits set --mailbox anna@acme.example --per-mailbox 100
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox)" "100 from mailbox" "the mailbox's own comes first"
is "$(jget limits.per_mailbox.set_here) $(jget limits.per_mailbox.settable)" "100 true" "set_here and settable"
is "$(jget limits.total.set_here) $(jget limits.total.settable)" "null false" "a mailbox cannot hold a total"
show_json --mailbox bob@acme.example
is "$(in_force per_mailbox)" "200 from domain" "another mailbox of the domain keeps the domain's"
expect 0 "back to inherit at mailbox level" limits set --mailbox anna@acme.example --per-mailbox inherit
show_json --mailbox anna@acme.example
is "$(in_force per_mailbox) $(jget limits.per_mailbox.set_here)" "200 from domain null" "inherit: from the domain again"
expect 0 "per domain at tenant and domain level" limits set --tenant Acme --per-domain 1500 --total 4000
show_json --domain acme.example
is "$(in_force per_domain); $(in_force total)" "1500 from tenant; 4000 from tenant" "a domain inherits per-domain and total from its tenant"
expect 0 "a domain's own per-domain limit" limits set --domain ACME.example --per-domain 1000
show_json --mailbox anna@acme.example
is "$(in_force per_domain)" "1000 from domain" "the domain's per-domain limit, for its mailboxes"
show_json --mailbox carl@acme-mail.example
is "$(in_force per_domain)" "1500 from tenant" "... not for the tenant's other domain"
expect 0 "the tenant's total back to inherit" limits set --tenant acme-mail.example --total inherit
show_json --tenant Acme
is "$(in_force total); $(jget limits.total.set_here); $(jget tenant)" "5000 from server; null; Acme" \
    "the total inherits from the server; a tenant named by its domain"
expect 0 "the server's default off" limits set --server --total inherit
show_json --mailbox ob@other.example
is "$(in_force total); $(in_force per_mailbox)" "null from null; 500 from server" "no level sets the total: unlimited"
expect 0 "text output of a mailbox" limits show --mailbox anna@acme.example
like "$OUT" '^limits of mailbox anna@acme.example \(tenant Acme\)' "the heading names mailbox and tenant"
like "$OUT" 'per-mailbox +inherit +200 +domain +0' "set here, in force, from, sent"
like "$OUT" 'total +- +unlimited +- +0' "a key the level cannot hold: -"

# --- 0 and 1: no sending (manual 003) ----------------------------------------------
for n in 0 1; do
    expect 0 "a per-mailbox limit of $n" limits set --mailbox bob@acme.example --per-mailbox $n
    like "$OUT" "per-mailbox +$n +$n \\(no sending\\) +mailbox" "$n is shown as no sending"
    like "$OUT" 'sending is disabled for this mailbox' "... and said"
    show_json --mailbox bob@acme.example
    is "$(jget sending_disabled)" true "JSON: sending_disabled with $n"
done
expect 0 "a per-mailbox limit of 2" --json limits set --mailbox bob@acme.example --per-mailbox 2
is "$(jget sending_disabled)" false "2 lets it send"
expect 0 "the largest limit" limits set --mailbox bob@acme.example --per-mailbox 10000000
expect 0 "a domain's per-mailbox limit of 1 reaches its mailboxes" limits set --domain acme-mail.example --per-mailbox 1
show_json --mailbox carl@acme-mail.example
is "$(in_force per_mailbox) $(jget sending_disabled)" "1 from domain true" "an inherited 1 disables sending too"

# --- one audit row per change --------------------------------------------------------
is "$(audit_rows)" 14 "one limits.set row per change"
is "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'limits.set' AND target = 'Acme' ORDER BY id LIMIT 1")" \
    "per-mailbox inherit -> 300 (tenant level)" "the row says what changed from what"
is "$(sql "SELECT concat_ws('|', actor, target, coalesce(tenant_name, ''), detail) FROM ers.audit_log WHERE action = 'limits.set' ORDER BY id LIMIT 1")" \
    "$OPERATOR|server||per-mailbox inherit -> 500, per-domain inherit -> 2000, total inherit -> 5000 (server level)" \
    "the server's row"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action LIKE 'limits.%' AND outcome = 'ok' AND detail IS NULL")" 0 \
    "show writes no audit row"

# --- bad input: a clear error, nothing changed, no audit row ----------------------------
refused 64 'give exactly one of --server, --tenant TENANT, --domain DOMAIN or --mailbox EMAIL, got 0' \
    "set without a level" limits set --per-mailbox 5
refused 64 'give exactly one of .*, got 2' "set with two levels" limits set --server --tenant Acme --per-mailbox 5
refused 64 'give exactly one of .*, got 0' "show without a level" limits show
refused 65 '--total cannot be set at domain level; allowed there: --per-mailbox, --per-domain$' \
    "--total at domain level" limits set --domain acme.example --total 5
refused 65 '--per-domain cannot be set at mailbox level; allowed there: --per-mailbox$' \
    "--per-domain at mailbox level" limits set --mailbox anna@acme.example --per-domain 5
refused 65 '--total cannot be set at mailbox level' "--total at mailbox level, with a good key too" \
    limits set --mailbox anna@acme.example --per-mailbox 5 --total 5
for bad in -1 10000001 abc 1e3 "" " 5" 5x 99999999999999999999; do
    refused 65 "--per-mailbox must be 0..10000000 emails per hour or inherit, got \"${bad//\\/\\\\}\"" \
        "per-mailbox \"$bad\" is refused" limits set --tenant Acme --per-mailbox "$bad"
done
refused 65 '--total must be 0..10000000 emails per hour or inherit, got "Inherit"' "inherit is lower case" \
    limits set --tenant Acme --total Inherit
refused 65 'nothing to change: give at least one of --per-mailbox, --per-domain, --total \(N or inherit\)' \
    "set with no limit" limits set --tenant Acme
refused 65 'nothing to change: give at least one of --per-mailbox \(N or inherit\)' \
    "set with no limit at mailbox level names the one key" limits set --mailbox anna@acme.example
refused 66 'no tenant is named "Nope" or owns that domain' "an unknown tenant" limits set --tenant Nope --total 5
refused 66 'domain nowhere.example is not one of any tenant.s domains' "an unknown domain" \
    limits set --domain nowhere.example --per-domain 5
refused 65 'domain "bad domain" contains a space' "a malformed domain" limits show --domain "bad domain"
refused 66 'no user nobody@acme.example' "an unknown mailbox" limits set --mailbox nobody@acme.example --per-mailbox 5
refused 65 'must look like name@domain' "a malformed address" limits show --mailbox anna
refused 64 'unknown option --per-hour; possibilities are: --server, --tenant, --domain, --mailbox, --per-mailbox, --per-domain, --total' \
    "an unknown option lists the possibilities" limits set --server --per-hour 5
refused 64 'option --server takes no value' "--server takes no value" limits set --server=x --total 5
refused 64 'takes no arguments, got "Acme"' "a positional argument" limits show Acme
run --json limits set --domain acme.example --total 5
is "$RC $(jget error.code)" "65 invalid" "--json: the error as an object"
is "$(audit_rows)" 14 "no refused change wrote an audit row"

# --- the policy, through --as ----------------------------------------------------------
# allowed ACTOR DESC ARGS...: works; a change writes one ok row naming both.
allowed() {
    local actor=$1 desc=$2 a0 rows; shift 2
    a0=$(sql "SELECT coalesce(max(id), 0) FROM ers.audit_log")
    run --as "$actor" "$@"
    rows=$(sql "SELECT string_agg(concat_ws('|', outcome, actor, via), ' ') FROM ers.audit_log WHERE id > $a0")
    if [ "$RC" -eq 0 ] && { [ "$2" = show ] && [ -z "$rows" ] || [ "$rows" = "ok|$actor|$OPERATOR" ]; }; then ok 0 "$desc"; else
        ok 1 "$desc"; diag "ersctl --as $actor $*" "exit $RC: $ERR" "audit rows: $rows"; fi
}
U=anna@acme.example TA=ta@acme.example SA=sa@acme.example
allowed $U "a user sees its own mailbox's limits" limits show --mailbox anna@acme.example
denied 'anna@acme.example \(user\) may not limits.set' "a user cannot set its own limit" \
    --as $U limits set --mailbox anna@acme.example --per-mailbox 9999
denied 'may not limits.view' "a user cannot see another user's" --as $U limits show --mailbox bob@acme.example
denied 'may not limits.view' "a user cannot see its tenant's" --as $U limits show --tenant Acme
denied 'may not limits.view' "a user cannot see its domain's" --as $U limits show --domain acme.example
denied 'may not limits.view' "a user cannot see the server's" --as $U limits show --server
allowed $TA "a tenant admin sets its tenant's domain" limits set --domain acme.example --per-mailbox 150
allowed $TA "... and a regular user's mailbox" limits set --mailbox bob@acme.example --per-mailbox 20
allowed $TA "... and sees its tenant's" limits show --tenant Acme
allowed $TA "... and its regular users'" limits show --mailbox carl@acme-mail.example
denied 'ta@acme.example \(tenant_admin\) may not limits.set_tenant' "a tenant admin cannot set its tenant's limits" \
    --as $TA limits set --tenant Acme --total 99999
denied 'may not limits.set_tenant' "... nor the server's" --as $TA limits set --server --per-mailbox 99999
denied 'may not limits.set' "... nor its own mailbox's" --as $TA limits set --mailbox ta@acme.example --per-mailbox 99999
denied 'may not limits.set' "... nor an admin's" --as $TA limits set --mailbox sa@acme.example --per-mailbox 5
denied 'may not limits.set' "... nor another tenant's domain" --as $TA limits set --domain other.example --per-domain 5
denied 'may not limits.set' "... nor another tenant's user" --as $TA limits set --mailbox ob@other.example --per-mailbox 5
denied 'may not limits.view' "... nor see another tenant's" --as $TA limits show --tenant Other
denied 'may not limits.view' "... nor the server's" --as $TA limits show --server
allowed $SA "a super admin sets the server's defaults" limits set --server --per-domain 3000
allowed $SA "... and another tenant's" limits set --tenant Other --total 800
allowed $SA "... and any mailbox's" limits set --mailbox ob@other.example --per-mailbox 40
allowed $SA "... and sees the server's" limits show --server
show_json --mailbox ob@other.example
is "$(in_force per_mailbox); $(in_force per_domain); $(in_force total)" "40 from mailbox; 3000 from server; 800 from tenant" \
    "what the super admin set is in force"

done_testing
