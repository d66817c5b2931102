# Bulk import and export of users: CSV and JSON, the PostfixAdmin profile,
# all or nothing with every bad line named, the tenant limits on the totals,
# the policy per row, and the export -> import round trip.  Small files only:
# a generated password costs a yescrypt hash (~16 ms).
. "$(dirname "$0")/lib.sh"
new_db

# Hashes of "correct horse battery": SHA512-CRYPT and yescrypt.
H6='$6$saltsalt$G9wFFnnUFCPffgjGaIp8t6onbqx3zGbMIn93ecLfBFGJpBV3/0HPLZ17qYbjb.WJDtXbmuMlQ9NnvzVms5ZXj.'
HY='$y$j9T$H6.uwHHzvN4agWYpORvuV1$ZyPKU1g4.teuhnekr/pRqJ/0JvdsLOHecLgvnJ00Qy/'
# md5crypt of "pw" (PostfixAdmin's old default), refused.
H1='$1$abc$Kb85XxsXB.VXinPhbS4431'
printf 'correct horse battery\n' >"$T_DIR/current"
printf 'a brand new password\n' >"$T_DIR/new"

setup_tenants() {
    "$ERSCTL" -q server host add mail.example.net --kind imap &&
    "$ERSCTL" -q server host add mail.example.net --kind smtp &&
    "$ERSCTL" -q tenant add Acme --domain acme.example --imap-host mail.example.net --smtp-host mail.example.net --max-users 12 &&
    "$ERSCTL" -q tenant domain add Acme acme-mail.example &&
    "$ERSCTL" -q tenant add Beta --domain beta.example --imap-host mail.example.net --smtp-host mail.example.net --max-storage-mb 100
}
setup_tenants || { echo "Bail out! setup failed"; exit 1; }
users() { sql "SELECT count(*) FROM ers.mailbox"; }
imports() { sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.import' AND outcome = 'ok'"; }

# --- a good CSV: RFC 4180 quoting, CRLF, a byte order mark, two domains ----------
printf '\xef\xbb\xbfaddress,first_name,last_name,role,quota_mb,status,internal_only,password_hash\r\n' >"$T_DIR/good.csv"
printf 'Anna@ACME.example,Anna,"Smith, ""Jr.""",user,100,active,false,%s\r\n' "$H6" >>"$T_DIR/good.csv"
printf 'boss@acme.example,Bo,"Multi\r\nLine",tenant_admin,,active,true,{SHA512-CRYPT}%s\r\n' "$H6" >>"$T_DIR/good.csv"
printf 'carl@acme-mail.example,,,,,disabled,,%s\r\n' "$HY" >>"$T_DIR/good.csv"
refused 65 'line 3: last_name must be valid UTF-8 text without control characters' \
    "a line break inside a quoted name is a bad line 3 (names hold no control characters)" user import "$T_DIR/good.csv"
printf '\xef\xbb\xbfaddress,first_name,last_name,role,quota_mb,status,internal_only,password_hash\r\n' >"$T_DIR/good.csv"
printf 'Anna@ACME.example,Anna,"Smith, ""Jr.""",user,100,active,false,%s\r\n' "$H6" >>"$T_DIR/good.csv"
printf 'boss@acme.example,Bo,Boss,tenant_admin,,active,true,{SHA512-CRYPT}%s\r\n' "$H6" >>"$T_DIR/good.csv"
printf 'carl@acme-mail.example,,,,,disabled,,%s\r\n' "$HY" >>"$T_DIR/good.csv"
expect 0 "import a good CSV file" user import "$T_DIR/good.csv"
like "$OUT" "^imported 3 users$" "says how many"
is "$(users)" 3 "three users exist"
is "$(sql "SELECT last_name FROM ers.mailbox WHERE address = 'anna@acme.example'")" 'Smith, "Jr."' "quoted comma and doubled quote read back"
is "$(sql "SELECT role || ' ' || coalesce(quota_mb::text, 'none') || ' ' || internal_only FROM ers.mailbox WHERE address = 'boss@acme.example'")" \
    "tenant_admin none true" "role, no quota, internal only"
is "$(sql "SELECT status || ' ' || disabled_by FROM ers.mailbox WHERE address = 'carl@acme-mail.example'")" "disabled admin" "disabled by an admin"
is "$(sql "SELECT password_hash FROM ers.mailbox WHERE address = 'boss@acme.example'")" "$H6" "the {SCHEME} prefix is dropped"
is "$(sql "SELECT count(*) FROM ers.address_claim WHERE kind = 'mailbox'")" 3 "every address is claimed"
is "$(imports)" 1 "one audit row for the import"
like "$(sql "SELECT detail FROM ers.audit_log WHERE action = 'user.import'")" "^3 users from .*good.csv \(csv, profile ers\)" "its detail has the count"
expect 0 "an imported hash logs in: change the password with the current one" \
    --as anna@acme.example user passwd anna@acme.example --current-password-file "$T_DIR/current" --password-file "$T_DIR/new"

# --- a good JSON file, generated passwords -------------------------------------------
cat >"$T_DIR/good.json" <<'JSON'
[
  {"address": "dora@acme.example", "first_name": "Dora", "quota_mb": 50, "internal_only": true},
  {"address": "eve@beta.example", "last_name": "Evans", "quota_mb": "20", "status": "disabled_by_user"}
]
JSON
expect 0 "import JSON with --generate-passwords (--json)" --json user import --generate-passwords "$T_DIR/good.json"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["imported"], len(o["passwords"]), o["passwords"][0]["address"])')" \
    "2 2 dora@acme.example" "the JSON answer lists each temporary password"
pw=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["passwords"][0]["temporary_password"])')
printf '%s\n' "$pw" >"$T_DIR/dora-pw"
like "$pw" '^([2-9a-z]{4}-){6}[2-9a-z]{4}$' "a temporary password like user add's"
expect 0 "the temporary password works" \
    --as dora@acme.example user passwd dora@acme.example --current-password-file "$T_DIR/dora-pw" --password-file "$T_DIR/new"
unlike "$(sql "SELECT string_agg(coalesce(detail, ''), ' ') FROM ers.audit_log")" "$pw" "no temporary password in the audit log"
is "$(sql "SELECT status || ' ' || disabled_by || ' ' || quota_mb FROM ers.mailbox WHERE address = 'eve@beta.example'")" \
    "disabled self 20" "JSON: quota as a string, disabled by the user"

printf 'address,quota_mb\nfred@beta.example,10\ngina@beta.example,10\n' >"$T_DIR/gen.csv"
expect 0 "--generate-passwords prints CSV on stdout" user import --generate-passwords "$T_DIR/gen.csv"
is "$(printf '%s\n' "$OUT" | head -n 1)" "address,temporary_password" "a header line"
is "$(printf '%s\n' "$OUT" | grep -Ec '^(fred|gina)@beta\.example,([2-9a-z]{4}-){6}[2-9a-z]{4}$')" 2 "then one line per user"
like "$ERR" "imported 2 users" "the note goes to stderr"
is "$(imports)" 3 "one audit row per import"

# --- every bad line is named, and nothing is written ------------------------------------
cat >"$T_DIR/bad.csv" <<CSV
address,first_name,role,quota_mb,password_hash
ok1@acme.example,Ok,user,5,$H6
not an address,,user,,$H6
ok2@acme.example,Ok,user,5,$H6
ok1@acme.example,Again,king,-1,$H6
someone@nowhere.example,,user,,$H6
CSV
refused 65 'bad.csv: 3 bad lines, nothing was imported: line 3: .*; line 5: .*king.*; line 5: .*quota_mb.*; line 5: address ok1@acme.example is also on line 2; line 6: domain nowhere.example is not one of any tenant' \
    "a file with 3 bad lines names all 3 and writes nothing" user import "$T_DIR/bad.csv"
bad_json=$(printf '[{"address": "x1@acme.example"}, {"address": "anna@acme.example"}, {"adress": "x2@acme.example"}, 7]')
printf '%s' "$bad_json" >"$T_DIR/bad.json"
refused 65 'index 1: address anna@acme.example is already used by a mailbox; index 2: unknown key "adress".*; index 2: no address.*; index 3: must be an object' \
    "JSON items are named by their index" user import --generate-passwords "$T_DIR/bad.json"
expect 65 "--json lists the problems" --json user import --generate-passwords "$T_DIR/bad.json"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print(e["code"], e["exit_status"], [p["index"] for p in e["problems"]])')" \
    "invalid 65 [1, 2, 2, 3]" "with the index of each"
printf 'address,password\nx@acme.example,secret12345678\n' >"$T_DIR/clear.csv"
refused 65 'line 1: column "password": clear passwords are never read from a file' "a clear password column is refused" \
    user import "$T_DIR/clear.csv"
printf 'address,first_name\nh1@acme.example,H\n' >"$T_DIR/nohash.csv"
refused 65 'line 1: the header has no password_hash column.*--generate-passwords' "no hashes and no --generate-passwords" \
    user import "$T_DIR/nohash.csv"
printf 'address,password_hash\n"h1@acme.example,%s\n' "$H6" >"$T_DIR/quote.csv"
refused 65 'line 2: the quoted field opened on line 2 is never closed' "an unclosed quote" user import "$T_DIR/quote.csv"
refused 64 'cannot tell the format of .*users.txt.*--format' "an unknown extension needs --format" user import "$T_DIR/users.txt"
printf '[]\n' >"$T_DIR/empty.json"
refused 65 'the file holds no users' "an empty JSON array" user import "$T_DIR/empty.json"
is "$(imports)" 3 "no refused import left an audit row"

# --- limits on the totals -------------------------------------------------------------------
# Acme allows 12 users and has 4.
python3 -c 'import json; print(json.dumps([{"address": "n%d@acme.example" % i, "password_hash": "'"$H6"'"} for i in range(9)]))' >"$T_DIR/nine.json"
refused 73 'nothing was imported: tenant "Acme" allows at most 12 users and has 4 already: the file adds 9, 1 too many' \
    "max users exceeded: nothing is written" user import "$T_DIR/nine.json"
printf 'address,quota_mb,password_hash\nq1@beta.example,50,%s\nq2@beta.example,,%s\n' "$H6" "$H6" >"$T_DIR/storage.csv"
refused 65 'line 3: tenant "Beta" has a storage limit of 100 MB, so every mailbox needs a quota' \
    "a storage-limited tenant needs a quota on every row" user import "$T_DIR/storage.csv"
printf 'address,quota_mb,password_hash\nq1@beta.example,50,%s\nq2@beta.example,30,%s\n' "$H6" "$H6" >"$T_DIR/storage.csv"
refused 73 'tenant "Beta" has a storage limit of 100 MB and 40 MB is already given to quotas: at most 60 MB is left, the file.s quotas add 80 MB' \
    "the storage limit is checked on the sum of the quotas" user import "$T_DIR/storage.csv"
refused 65 'q1@beta.example is in tenant "Beta", not in "Acme" \(--tenant\)' "--tenant refuses rows of another tenant" \
    user import --tenant Acme "$T_DIR/storage.csv"
# A storage limit lowered below the quotas given: no row is taken, not even
# one with a quota of 0, until the tenant is under it again.
expect 0 "Beta's storage limit lowered below its quotas" tenant edit Beta --max-storage-mb 30
like "$ERR" 'warning: tenant "Beta" has given 40 MB in quotas, over its new storage limit of 30 MB' "the warning names the use"
printf 'address,quota_mb,password_hash\nq1@beta.example,0,%s\n' "$H6" >"$T_DIR/zero.csv"
refused 73 'nothing was imported: tenant "Beta" has given 40 MB in quotas, over its storage limit of 30 MB: no user can be added and no quota raised until it is under the limit; the file.s quotas add 0 MB' \
    "a tenant over its storage limit takes no row" user import "$T_DIR/zero.csv"
expect 0 "the limit raised back" tenant edit Beta --max-storage-mb 100
is "$ERR" "" "no warning"

# --- the policy, per row -----------------------------------------------------------------------
printf 'address,role,password_hash\nt1@acme.example,user,%s\nt2@acme.example,tenant_admin,%s\nt3@beta.example,user,%s\n' "$H6" "$H6" "$H6" >"$T_DIR/admin-rows.csv"
before=$(users)
expect 77 "a tenant admin importing an admin row is refused" --as boss@acme.example user import "$T_DIR/admin-rows.csv"
like "$ERR" 'line 3: t2@acme.example with role tenant_admin: boss@acme.example \(tenant_admin\) may not user.create; line 4: t3@beta.example with role user: .*may not user.create$' \
    "each refused row is named"
unlike "$ERR" 'Beta' "the other tenant is not named to a tenant admin"
is "$(users)" "$before" "nothing was written"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.import' AND outcome = 'denied' AND actor = 'boss@acme.example'")" 1 \
    "the refusal is audited once"
printf 'address,role,password_hash\nt1@acme.example,user,%s\n' "$H6" >"$T_DIR/regular.csv"
expect 0 "a tenant admin imports regular users of its own tenant" --as boss@acme.example user import "$T_DIR/regular.csv"
is "$(sql "SELECT via FROM ers.audit_log WHERE action = 'user.import' AND actor = 'boss@acme.example' AND outcome = 'ok'")" "operator:root" \
    "the audit row names both"
expect 77 "a regular user may import nothing" --as anna@acme.example user import "$T_DIR/regular.csv"

# --- PostfixAdmin's mailbox table -----------------------------------------------------------------
cat >"$T_DIR/pfa.csv" <<CSV
username,password,name,maildir,quota,local_part,domain,created,modified,active,phone
p1@acme.example,{SHA512-CRYPT}$H6,Anna Maria Schmidt,acme.example/p1/,1048577,p1,acme.example,2020-01-01 10:00:00,2024-01-01 10:00:00,1,
p2@acme.example,$HY,Cher,acme.example/p2/,0,p2,acme.example,2020-01-01 10:00:00,2024-01-01 10:00:00,0,
p3@acme.example,{MD5-CRYPT}$H1,Old Timer,acme.example/p3/,0,p3,acme.example,2020-01-01 10:00:00,2024-01-01 10:00:00,t,
CSV
refused 65 'line 4: md5crypt \(\$1\$\) password hashes are refused.*--generate-passwords' \
    "PostfixAdmin: md5crypt is refused with advice" user import --profile postfixadmin "$T_DIR/pfa.csv"
grep -v '^p3@' "$T_DIR/pfa.csv" >"$T_DIR/pfa2.csv"
expect 0 "PostfixAdmin: the other rows import" user import --profile postfixadmin "$T_DIR/pfa2.csv"
is "$(sql "SELECT first_name || '|' || last_name || '|' || quota_mb || '|' || status FROM ers.mailbox WHERE address = 'p1@acme.example'")" \
    "Anna Maria|Schmidt|2|active" "name split on the last space, 1048577 bytes round up to 2 MB"
is "$(sql "SELECT first_name || '|' || last_name || '|' || coalesce(quota_mb::text, 'none') || '|' || status FROM ers.mailbox WHERE address = 'p2@acme.example'")" \
    "Cher||none|disabled" "one word is a first name; quota 0 is none; active 0 is disabled"
is "$(sql "SELECT password_hash FROM ers.mailbox WHERE address = 'p1@acme.example'")" "$H6" "the hash is kept without its {SCHEME}"
grep -v '^p[12]@' "$T_DIR/pfa.csv" >"$T_DIR/pfa3.csv"
expect 0 "PostfixAdmin: --generate-passwords replaces an md5crypt hash" user import --profile postfixadmin --generate-passwords "$T_DIR/pfa3.csv"
like "$OUT" '^p3@acme.example,' "p3 got a temporary password"

# --- export -------------------------------------------------------------------------------------------
expect 0 "export CSV" user export --tenant Acme
is "$(printf '%s\n' "$OUT" | head -n 1)" "address,first_name,last_name,role,quota_mb,status,internal_only" "the columns, no hash"
like "$OUT" 'anna@acme.example,Anna,"Smith, ""Jr.""",user,100,active,false' "RFC 4180 quoting"
unlike "$OUT" '\$(6|y|1)\$' "no password hash without --with-hashes"
unlike "$OUT" 'beta.example' "only the tenant asked for"
expect 0 "export JSON (--json)" --json user export
unlike "$OUT" 'password_hash' "no hash in JSON either"
expect 0 "a tenant admin exports the regular users of its tenant" --as boss@acme.example user export
unlike "$OUT" 'boss@acme.example|beta.example' "not admins, not other tenants"
expect 77 "a regular user may not export hashes" --as anna@acme.example user export --with-hashes
before_exports=$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.export'")
expect 0 "export with hashes" user export --with-hashes
csv_export=$OUT
like "$csv_export" "boss@acme.example,Bo,Boss,tenant_admin,,active,true,\\\$6\\\$saltsalt" "the hash column"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE action = 'user.export'")" $((before_exports + 1)) "an export with hashes is audited"
expect 0 "export JSON with hashes" user export --with-hashes --format json
json_export=$OUT
printf '%s\n' "$csv_export" >"$T_DIR/export.csv"
printf '%s\n' "$json_export" >"$T_DIR/export.json"

# --- the round trip into an empty database --------------------------------------------------------------
for fmt in csv json; do
    new_db
    setup_tenants || { echo "Bail out! setup failed"; exit 1; }
    sql "UPDATE ers.tenant SET max_users = NULL" >/dev/null
    expect 0 "round trip ($fmt): import the export into an empty database" user import "$T_DIR/export.$fmt"
    run user export --with-hashes --format "$fmt"
    if [ "$fmt" = csv ]; then is "$OUT" "$csv_export" "round trip ($fmt): the same users"; else is "$OUT" "$json_export" "round trip ($fmt): the same users"; fi
done
expect 0 "the moved hash still logs in" \
    --as boss@acme.example user passwd boss@acme.example --current-password-file "$T_DIR/current" --password-file "$T_DIR/new"

done_testing
