# MFA with TOTP (RFC 6238) through libers' API, driven by
# test/integration/webauth.c, with oathtool as the independent code
# generator: "Set Up FreeOTP" (secret, otpauth URI, QR code; the seed
# sealed), "Verify and Enable", the two-step login, a code accepted once
# (also when four requests race with it), the +-1 step window, lock-out
# after 5 wrong codes, the pending step's expiry -- and `ersctl user mfa
# status|reset` under the policy.
. "$(dirname "$0")/lib.sh"
new_db
command -v oathtool >/dev/null || { echo "Bail out! oathtool is not installed (make deps)"; exit 1; }

W=$T_DIR/webauth
cc -std=gnu17 -O2 -Wall -Wextra -Wshadow -Werror -I"$ERS_TOP/libers/include" -o "$W" \
    "$ERS_TOP/test/integration/webauth.c" -L"$ERS_TOP/build" -lers -Wl,-rpath,"$ERS_TOP/build" \
    2>"$T_DIR/cc.log" || { echo "Bail out! cannot build webauth.c: $(head -c 300 "$T_DIR/cc.log")"; exit 1; }
wa() { OUT=$("$W" "$@" 2>"$T_DIR/err" </dev/null); RC=$?; ERR=$(cat "$T_DIR/err"); }
token() { printf '%s\n' "$OUT" | sed -n 's/^\(session\|pending\) //p'; }
field() { printf '%s\n' "$OUT" | sed -n "s/^$1 //p"; }
json() { printf '%s' "$OUT" | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"; }
pg_dump_all() { as_user postgres "$PGBIN/pg_dump" -h "$PG_SOCKET" -p "$PG_PORT" -U postgres --no-owner "$T_DB" 2>&1; }
sql_hash() { echo "sha256(decode(translate('$1', '-_', '+/') || '=', 'base64'))"; }
last_audit() { sql "SELECT concat_ws(' | ', actor, action, target, outcome, detail) FROM ers.audit_log ORDER BY id DESC LIMIT 1"; }
audit_count() { sql "SELECT count(*) FROM ers.audit_log"; }
col() { sql "SELECT $1 FROM ers.mailbox WHERE address = '$2'"; }
# Codes from oathtool: now, or OFFSET seconds from now.
code_now() { oathtool --totp -b "$1"; }
code_at() { oathtool --totp -b -N "@$(( $(date +%s) + $2 ))" "$1"; }
# A code that is none of the steps around now.
wrong_code() { printf '%06d' $(( (10#$(code_now "$1") + 500000) % 1000000 )); }
# Forget the last step used and the failures, between scenarios that each
# need a fresh code of this very step.
fresh() { sql "UPDATE ers.mailbox SET totp_last_step = NULL, totp_locked_until = NULL WHERE address = '$1'; DELETE FROM ers.login_failure" >/dev/null; }
# login ADDRESS: a new login's token in TOK.
login() { wa login "$1" "$P/pw" "$IP"; TOK=$(token); }
IP=192.0.2.20

P=$T_DIR
printf 'the-password-1\n' >"$P/pw"
expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: tenant Other" tenant add Other --domain other.example "${M[@]}"
for u in anna:user bob:user tadmin:tenant_admin tadmin2:tenant_admin boss:super_admin; do
    run user add "${u%%:*}@acme.example" --password-file "$P/pw" --role "${u#*:}"
    [ "$RC" -eq 0 ] || { echo "Bail out! cannot add ${u%%:*}: $ERR"; exit 1; }
done
expect 0 "setup: other tenant's admin" user add oadmin@other.example --password-file "$P/pw" --role tenant_admin
expect 0 "setup: other tenant's user" user add otto@other.example --password-file "$P/pw"

# --- Set Up FreeOTP ------------------------------------------------------------------
login anna@acme.example
S=$TOK
like "$OUT" "^session " "without MFA the password alone logs in"
expect 0 "status before: off" user mfa status anna@acme.example
like "$OUT" "mfa: +off" "... says off"
a0=$(audit_count)
wa setup "$S" "$IP" "$T_DIR/qr.svg"
is "$RC" 0 "Set Up FreeOTP"
SECRET=$(field secret)
like "$SECRET" '^[A-Z2-7]{32}$' "the manual secret: 32 base32 characters (160 bits)"
is "$(field uri)" "otpauth://totp/ERS:anna%40acme.example?secret=$SECRET&issuer=ERS&algorithm=SHA1&digits=6&period=30" \
    "the otpauth:// URI: issuer ERS, the address as label, 6 digits, 30 s"
like "$(head -c 60 "$T_DIR/qr.svg")" '^<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 [0-9]+ [0-9]+"' "a QR code as inline SVG"
like "$(tail -c 20 "$T_DIR/qr.svg")" '"/></svg>$' "... one path of dark modules"
like "$(col totp_pending_seed_sealed anna@acme.example)" '^v1:[0-9a-f]{8}:' "the seed is stored sealed (v1:KEYID:...)"
is "$(col "coalesce(totp_seed_sealed, 'none')" anna@acme.example)" none "... as pending: MFA is not on yet"
dumped=$(pg_dump_all)
unlike "$dumped" "$SECRET" "the secret is not in the database in clear"
unlike "$dumped" "$(printf '%s' "$SECRET" | tr 'A-Z' 'a-z')" "... not even in lower case"
is "$(last_audit)" "anna@acme.example | mfa.setup | anna@acme.example | ok | a new secret was shown; MFA is on once a code from it is verified" \
    "one audit row, without the secret"
is "$(audit_count)" $((a0 + 1)) "... only one"
expect 0 "status: setup pending" user mfa status anna@acme.example
like "$OUT" "setup pending: +yes" "... says a setup is pending"
like "$OUT" "mfa: +off" "... still off"

# --- Verify and Enable ---------------------------------------------------------------------
wa enable "$S" "$IP" "$(wrong_code "$SECRET")"
is "$RC" 77 "a wrong code does not enable MFA: 77"
like "$ERR" "the code is not right: enter the one your authenticator app shows now \(4 more wrong code\(s\) lock code entry for 15 minutes\)" \
    "... says so, and how many tries are left"
wa enable "$S" "$IP" 12a456
is "$RC" 65 "a code that is no 6 digits: 65"
like "$ERR" "the code must be the 6 digits your authenticator app shows now" "... says what it must be"
wa enable "$S" "$IP" 1234567
is "$RC" 65 "7 digits: 65"
is "$(col "totp_enabled_at IS NULL" anna@acme.example)" t "still off"
wa enable "$S" "$IP" "$(code_now "$SECRET")"
is "$RC" 0 "a current code from oathtool enables MFA"
like "$(col totp_seed_sealed anna@acme.example)" '^v1:' "the seed is now the enabled one, sealed"
is "$(col "coalesce(totp_pending_seed_sealed, 'none')" anna@acme.example)" none "no seed is pending"
is "$(last_audit)" "anna@acme.example | mfa.enable | anna@acme.example | ok | MFA is on: the login asks for a code" "audit: enabled"
is "$(sql "SELECT count(*) FROM ers.login_failure")" 0 "a right code clears the wrong ones"
expect 0 "status: on" --json user mfa status anna@acme.example
is "$(json enabled)" true "enabled: true"
like "$(json enabled_at)" '^20[0-9-]+T[0-9:]+Z$' "enabled_at: when"
is "$(json setup_pending) $(json locked) $(json locked_until)" "false false null" "not pending, not locked"
wa setup "$S" "$IP"
is "$RC" 73 "Set Up FreeOTP again while MFA is on: 73"
like "$ERR" "MFA is on for anna@acme.example already \(since .*\); to move it to another device, ask an administrator to reset it first" \
    "... an admin resets it first"
wa check "$S" "$IP"
is "$RC" 0 "turning MFA on leaves the session logged in"

# --- the two-step login ---------------------------------------------------------------------
a0=$(audit_count)
login anna@acme.example
P1=$TOK
like "$OUT" "^pending " "with MFA on the password gives only a pending sign-in"
like "$OUT" "expires " "... that expires"
is "$(sql "SELECT mfa_pending FROM ers.session WHERE token_hash = $(sql_hash "$P1")")" t "... stored as pending"
is "$(last_audit)" "anna@acme.example | session.password | anna@acme.example | ok | password right, waiting for the authenticator code (from $IP)" \
    "audit: the password step"
wa check "$P1" "$IP"
is "$RC" 77 "a pending token is not logged in"
like "$ERR" "the sign-in is not finished: enter the code your authenticator app shows" "... says what is missing"
wa csrf "$P1" "$IP"
is "$RC" 77 "... and has no CSRF token for the pages"
wa code "$P1" "$(wrong_code "$SECRET")" "$IP"
is "$RC" 77 "a wrong code: 77"
like "$ERR" "the code is not right" "... says so"
like "$(last_audit)" "^anna@acme.example \| session.login \| anna@acme.example \| denied \| the code is not right" "... with a denied audit row"
# enabling used this step's code: the next step's is the one left
NEXT=$(code_at "$SECRET" 30)
wa code "$P1" "$NEXT" "$IP"
is "$RC" 0 "the code of the next step (the +1 window) logs in"
S2=$(token)
like "$OUT" "^session " "... a full session"
ok "$([ -n "$S2" ] && [ "$S2" != "$P1" ]; echo $?)" "... with a new token"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = $(sql_hash "$P1")")" 0 "the pending sign-in is gone"
wa check "$S2" "$IP"
is "$RC" 0 "the new session works"
is "$(last_audit)" "anna@acme.example | session.login | anna@acme.example | ok | with the password and an authenticator code (from $IP)" \
    "audit: the login"
wa code "$P1" "$NEXT" "$IP"
is "$RC" 77 "the pending token cannot be used twice"
like "$ERR" "the sign-in has expired or is unknown: log in again with your email and password" "... it is gone"

# --- a code is accepted once -----------------------------------------------------------------
login anna@acme.example
P2=$TOK
wa code "$P2" "$NEXT" "$IP"
is "$RC" 77 "the same code again, in another sign-in: refused"
like "$ERR" "this code was used already: wait for the next one your authenticator app shows" "... as used already"
wa code "$P2" "$(code_now "$SECRET")" "$IP"
is "$RC" 77 "an earlier step's code than the last used: refused too"
wa code "$P2" "$(code_at "$SECRET" 60)" "$IP"
is "$RC" 77 "a code two steps ahead is outside the window"
like "$ERR" "the code is not right" "... and not right"

# --- four requests race with one code: exactly one wins ---------------------------------------
fresh anna@acme.example
tokens=()
a0=$(sql "SELECT max(id) FROM ers.audit_log")
for i in 1 2 3 4; do login anna@acme.example; tokens+=("$TOK"); done
OUT=$("$W" race "$(code_now "$SECRET")" "$IP" "${tokens[@]}" 2>"$T_DIR/err"); RC=$?
is "$OUT" "succeeded 1 of 4" "four logins racing with the same code: exactly one succeeds" || diag "$(cat "$T_DIR/err")"
is "$(sql "SELECT count(*) FROM ers.session WHERE mfa_pending AND token_hash IN ($(for t in "${tokens[@]}"; do printf '%s,' "$(sql_hash "$t")"; done | sed 's/,$//'))")" 3 \
    "three pending sign-ins are left waiting for a new code"
is "$(sql "SELECT count(*) FROM ers.audit_log WHERE id > $a0 AND action = 'session.login' AND detail LIKE 'this code was used already%'")" 3 \
    "the three losers are refused as a used code, with audit rows"

# --- lock-out after 5 wrong codes ----------------------------------------------------------------
fresh anna@acme.example
login anna@acme.example
P3=$TOK
BAD=$(wrong_code "$SECRET")
for i in 1 2 3 4; do wa code "$P3" "$BAD" "$IP"; done
like "$ERR" "\(1 more wrong code\(s\) lock code entry for 15 minutes\)" "after 4 wrong codes: one more locks"
wa code "$P3" "$BAD" "$IP"
is "$RC" 77 "the fifth wrong code: 77"
like "$ERR" "that was 5 wrong codes in 15 minutes: code entry is locked until 20[0-9-]+T[0-9:]+Z, try again in 15 minutes" \
    "... locks code entry, saying until when"
wa code "$P3" "$(code_now "$SECRET")" "$IP"
is "$RC" 69 "while locked even the right code: 69"
like "$ERR" "too many wrong codes: code entry for anna@acme.example is locked until 20[0-9-]+T[0-9:]+Z; try again in 1[45] minute\(s\)" \
    "... says until when and how long"
like "$(last_audit)" "denied \| too many wrong codes" "... audited"
expect 0 "status shows the lock" user mfa status anna@acme.example
like "$OUT" "locked until: +20[0-9-]+T[0-9:]+Z" "... until when"
like "$OUT" "wrong codes: +5 in the last 15 minutes" "... and the wrong codes"
sql "UPDATE ers.mailbox SET totp_locked_until = now() - interval '1 second' WHERE address = 'anna@acme.example';
     UPDATE ers.login_failure SET at = at - interval '15 minutes'" >/dev/null
wa code "$P3" "$(code_now "$SECRET")" "$IP"
is "$RC" 0 "after the lock-out the right code logs in"

# --- the pending step expires ----------------------------------------------------------------------
fresh anna@acme.example
login anna@acme.example
P4=$TOK
sql "UPDATE ers.session SET created_at = now() - interval '301 seconds' WHERE token_hash = $(sql_hash "$P4")" >/dev/null
wa code "$P4" "$(code_now "$SECRET")" "$IP"
is "$RC" 77 "a code 5 minutes after the password: 77"
like "$ERR" "the sign-in has expired or is unknown: log in again" "... log in again"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = $(sql_hash "$P4")")" 0 "... the pending row is gone"
is "$(col "totp_last_step IS NULL" anna@acme.example)" t "... and the code was not spent"
login anna@acme.example
wa logout "$TOK"
is "$(last_audit)" "anna@acme.example | session.logout | anna@acme.example | ok | before entering the code" "a pending sign-in can be logged out"

# --- a sealed seed is bound to its mailbox ----------------------------------------------------
sql "UPDATE ers.mailbox SET totp_seed_sealed = (SELECT totp_seed_sealed FROM ers.mailbox WHERE address = 'anna@acme.example'),
     totp_enabled_at = now() WHERE address = 'bob@acme.example'" >/dev/null
login bob@acme.example
wa code "$TOK" "$(code_now "$SECRET")" "$IP"
ok "$([ "$RC" -ne 0 ]; echo $?)" "anna's sealed seed copied to bob does not open for bob"
unlike "$ERR" "$SECRET" "... and the error shows no secret"
sql "UPDATE ers.mailbox SET totp_seed_sealed = NULL, totp_enabled_at = NULL WHERE address = 'bob@acme.example'" >/dev/null

# --- ersctl user mfa status|reset under the policy -------------------------------------------------
expect 0 "a super admin sees anyone's MFA" --as boss@acme.example user mfa status anna@acme.example
like "$OUT" "mfa: +on since" "... on"
expect 0 "a tenant admin sees a regular user's of its tenant" --as tadmin@acme.example user mfa status anna@acme.example
expect 0 "a user sees its own" --as anna@acme.example user mfa status anna@acme.example
expect 0 "a super admin sees another tenant's" --as boss@acme.example user mfa status otto@other.example
denied "may not mfa.view" "another tenant's admin may not see it: 77" --as oadmin@other.example user mfa status anna@acme.example
denied "may not mfa.view" "a tenant admin may not see another admin's" --as tadmin@acme.example user mfa status tadmin2@acme.example
denied "may not mfa.view" "a user may not see another user's" --as bob@acme.example user mfa status anna@acme.example
denied "may not mfa.reset" "another tenant's admin may not reset it: 77" --as oadmin@other.example user mfa reset anna@acme.example
denied "may not mfa.reset" "a user may not reset its own (a stolen session must not)" --as anna@acme.example user mfa reset anna@acme.example
denied "may not mfa.reset" "a tenant admin may not reset an admin's" --as tadmin@acme.example user mfa reset tadmin2@acme.example
refused 66 "no user nobody@acme.example" "status of an unknown user: 66" user mfa status nobody@acme.example
refused 65 "must look like name@domain" "status of something that is no address: 65" user mfa status nobody
refused 64 "user mfa: which one\? possibilities are: reset, status" "user mfa without a verb" user mfa
refused 64 "expects EMAIL" "user mfa reset without a user" user mfa reset

fresh anna@acme.example
login anna@acme.example
wa code "$TOK" "$(code_now "$SECRET")" "$IP"
S3=$(token)
wa check "$S3" "$IP"
is "$RC" 0 "setup: anna is logged in with MFA"
a0=$(audit_count)
expect 0 "a tenant admin resets a regular user's MFA" --as tadmin@acme.example user mfa reset anna@acme.example
like "$OUT" "MFA of anna@acme.example is off; every session of it has ended" "... says so"
is "$(col "concat_ws(',', totp_seed_sealed, totp_pending_seed_sealed, totp_enabled_at, totp_last_step, totp_locked_until)" anna@acme.example)" "" \
    "the seed and all MFA state are gone"
wa check "$S3" "$IP"
is "$RC" 77 "the user's sessions have ended"
is "$(last_audit)" "tadmin@acme.example | mfa.reset | anna@acme.example | ok | MFA turned off; every session ended" "one audit row"
is "$(audit_count)" $((a0 + 1)) "... only one"
expect 0 "a reset of MFA that is off" user mfa reset anna@acme.example
like "$OUT" "MFA of anna@acme.example was not on; nothing changed" "... changes nothing"
is "$(audit_count)" $((a0 + 1)) "... and writes no audit row"
expect 0 "--json" --json user mfa reset anna@acme.example
is "$(json reset)" false "... reset: false"
login anna@acme.example
like "$OUT" "^session " "after the reset the password alone logs in again"
wa setup "$TOK" "$IP"
is "$RC" 0 "... and MFA can be set up again"
SECRET2=$(field secret)
ok "$([ "$SECRET2" != "$SECRET" ]; echo $?)" "... with a new secret"
expect 0 "a super admin cancels a pending setup" --as boss@acme.example --json user mfa reset anna@acme.example
is "$(json reset)" true "... reset: true"
is "$(col "coalesce(totp_pending_seed_sealed, 'none')" anna@acme.example)" none "... the pending seed is gone"

# no secret anywhere
like "$SECRET2" '^[A-Z2-7]{32}$' "the second secret is base32 too"
found=$({ sql "SELECT concat_ws(' ', actor, action, target, detail) FROM ers.audit_log"; pg_dump_all; } | grep -c -e "$SECRET" -e "$SECRET2")
is "$found" 0 "neither secret is in the audit log or the database"

done_testing
