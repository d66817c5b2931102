# Webmail sign-in through libers' session API (session.h), driven by
# test/integration/webauth.c as the CGI will call it: login right and wrong
# (one message for a wrong address and a wrong password), tokens (random,
# new at every login, only their SHA-256 stored), session check, last_seen
# touched at most once a minute, expiry after 7 idle days, logout, the
# password page, a password change ending every session, CSRF tokens,
# cookies, the delay after failed logins per address and per client
# address, and the audit rows of all of it.
. "$(dirname "$0")/lib.sh"
new_db

# --- the driver ------------------------------------------------------------
W=$T_DIR/webauth
cc -std=gnu17 -O2 -Wall -Wextra -Wshadow -Werror -I"$ERS_TOP/libers/include" -o "$W" \
    "$ERS_TOP/test/integration/webauth.c" -L"$ERS_TOP/build" -lers -Wl,-rpath,"$ERS_TOP/build" \
    2>"$T_DIR/cc.log" || { echo "Bail out! cannot build webauth.c: $(head -c 300 "$T_DIR/cc.log")"; exit 1; }
# wa ARGS...: runs the driver; sets OUT, ERR, RC.
wa() { OUT=$("$W" "$@" 2>"$T_DIR/err" </dev/null); RC=$?; ERR=$(cat "$T_DIR/err"); }
# token: the token of the last login's output.
token() { printf '%s\n' "$OUT" | sed -n 's/^\(session\|pending\) //p'; }
field() { printf '%s\n' "$OUT" | sed -n "s/^$1 //p"; }
pg_dump_all() { as_user postgres "$PGBIN/pg_dump" -h "$PG_SOCKET" -p "$PG_PORT" -U postgres --no-owner "$T_DB" 2>&1; }
# sql_token TOKEN: the bytea SHA-256 of a base64url token, in SQL.
sql_hash() { echo "sha256(decode(translate('$1', '-_', '+/') || '=', 'base64'))"; }
last_audit() { sql "SELECT concat_ws(' | ', actor, action, target, outcome, detail) FROM ers.audit_log ORDER BY id DESC LIMIT 1"; }
audit_count() { sql "SELECT count(*) FROM ers.audit_log"; }
IP=192.0.2.10

P=$T_DIR
printf 'anna-password-1\n' >"$P/anna"
printf 'bob-password-22\n' >"$P/bob"
printf 'wrong-password-9\n' >"$P/wrong"
printf 'anna-new-password-2\n' >"$P/anna2"
printf 'something-else-3\n' >"$P/else"
: >"$P/empty"

expect 0 "setup: IMAP host" server host add mail.example.net --kind imap
expect 0 "setup: SMTP host" server host add mail.example.net --kind smtp
M=(--imap-host mail.example.net --smtp-host mail.example.net)
expect 0 "setup: tenant Acme" tenant add Acme --domain acme.example "${M[@]}"
expect 0 "setup: anna" user add anna@acme.example --password-file "$P/anna"
expect 0 "setup: bob" user add bob@acme.example --password-file "$P/bob"

# --- login -------------------------------------------------------------------
a0=$(audit_count)
wa login anna@acme.example "$P/anna" "$IP" "Mozilla/5.0 (X11) Test"
is "$RC" 0 "login with the right password"
T1=$(token)
like "$OUT" "^session " "... gives a full session (no MFA)"
like "$T1" '^[A-Za-z0-9_-]{43}$' "the token is 43 base64url characters (256 bits)"
like "$OUT" "user anna@acme.example user" "... of anna, a user"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" 1 "the database holds the token's SHA-256"
unlike "$(pg_dump_all)" "$T1" "... and not the token"
is "$(sql "SELECT host(client_ip) || ' ' || user_agent || ' ' || mfa_pending FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" \
    "$IP Mozilla/5.0 (X11) Test false" "the client address and user agent are kept"
is "$(last_audit)" "anna@acme.example | session.login | anna@acme.example | ok | with the password (from $IP)" "one audit row: the login"
is "$(audit_count)" $((a0 + 1)) "... only one"
wa login ANNA@Acme.Example "$P/anna" "$IP"
T2=$(token)
is "$RC" 0 "the address is matched in any case"
ok "$([ -n "$T2" ] && [ "$T2" != "$T1" ]; echo $?)" "every login makes a new token"
wa check "$T1" "$IP"
is "$RC" 0 "the first session still works"
like "$OUT" "^user anna@acme.example user" "... and is anna"
wa check "$T2" "$IP"
is "$RC" 0 "so does the second"

# --- wrong logins ----------------------------------------------------------------
a0=$(audit_count)
wa login anna@acme.example "$P/wrong" "$IP"
is "$RC" 77 "a wrong password: 77"
is "$ERR" "webauth: permission_denied: wrong email or password" "... says: wrong email or password"
wrong_pw=$ERR
wa login nobody@acme.example "$P/anna" "$IP"
is "$RC:$ERR" "77:$wrong_pw" "an unknown address reads exactly the same"
wa login 'not an address' "$P/anna" "$IP"
is "$RC:$ERR" "77:$wrong_pw" "so does something that is no address"
wa login anna@acme.example "$P/empty" "$IP"
is "$RC:$ERR" "77:$wrong_pw" "so does an empty password"
is "$(audit_count)" $((a0 + 4)) "each failed login writes an audit row"
is "$(sql "SELECT string_agg(concat_ws(' | ', actor, action, target, outcome, detail), E'\n' ORDER BY id) FROM ers.audit_log WHERE id > (SELECT max(id) - 4 FROM ers.audit_log)")" \
"web:$IP | session.login | anna@acme.example | denied | wrong email or password: wrong password
web:$IP | session.login | nobody@acme.example | denied | wrong email or password: no user has this address
web:$IP | session.login | (not an address) | denied | wrong email or password: not an address
web:$IP | session.login | anna@acme.example | denied | wrong email or password: wrong password" \
    "... naming the client address, what was tried, and why (for the admins' eyes only)"
unlike "$(sql "SELECT string_agg(concat_ws(' ', actor, action, target, detail), ' ') FROM ers.audit_log")" "wrong-password-9|anna-password-1" \
    "no password is in the audit log"
is "$(sql "SELECT tenant_name FROM ers.audit_log WHERE target = 'anna@acme.example' AND outcome = 'denied' ORDER BY id DESC LIMIT 1")" Acme \
    "a failed login of a user is in its tenant's log"
wa login anna@acme.example "$P/anna" not-an-ip
is "$RC" 65 "a client address that is no IP address: 65"
like "$ERR" "the client address must be an IPv4 or IPv6 address" "... says what it must be"
wa login anna@acme.example "$P/anna" 2001:db8::7
is "$RC" 0 "an IPv6 client address works"
long_ua=$(printf 'U%.0s' {1..300})
wa login anna@acme.example "$P/anna" "$IP" "$long_ua"$'\x01'
is "$(sql "SELECT length(user_agent) FROM ers.session ORDER BY created_at DESC, user_agent DESC LIMIT 1")" 200 \
    "a long user agent is kept truncated to 200 bytes"

# disabled: said only to whom knows the password
expect 0 "setup: disable bob" user disable bob@acme.example
wa login bob@acme.example "$P/bob" "$IP"
is "$RC" 77 "a disabled user with the right password: 77"
is "$ERR" "webauth: permission_denied: this account is disabled; contact your administrator" "... says the account is disabled"
wa login bob@acme.example "$P/wrong" "$IP"
is "$RC:$ERR" "77:$wrong_pw" "with a wrong password it reads like any wrong login"
expect 0 "setup: enable bob" user enable bob@acme.example
sql "DELETE FROM ers.login_failure" >/dev/null

# --- session check and last_seen -----------------------------------------------
wa check "$T1" "$IP"
like "$OUT" "expires [0-9-]+T[0-9:]+Z" "check says when the session expires"
sql "UPDATE ers.session SET last_seen = now() - interval '30 seconds' WHERE token_hash = $(sql_hash "$T1")" >/dev/null
before=$(sql "SELECT last_seen FROM ers.session WHERE token_hash = $(sql_hash "$T1")")
wa check "$T1" "$IP"
is "$(sql "SELECT last_seen FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" "$before" \
    "a request 30 s after the last does not write last_seen"
sql "UPDATE ers.session SET last_seen = now() - interval '2 minutes' WHERE token_hash = $(sql_hash "$T1")" >/dev/null
wa check "$T1" 198.51.100.4
is "$(sql "SELECT last_seen > now() - interval '5 seconds' FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" t \
    "one 2 minutes after does"
is "$(sql "SELECT host(client_ip) FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" 198.51.100.4 \
    "... with the client address seen last (sessions are not bound to one)"
wa check "AAAA" "$IP"
is "$RC" 77 "a malformed token: 77"
like "$ERR" "not logged in: log in with your email and password" "... not logged in"
wa check "$(printf 'A%.0s' {1..43})" "$IP"
is "$RC" 77 "a well-formed unknown token: 77"

# --- expiry after 7 days without activity ----------------------------------------------
sql "UPDATE ers.session SET last_seen = now() - interval '6 days 23 hours' WHERE token_hash = $(sql_hash "$T2")" >/dev/null
wa check "$T2" "$IP"
is "$RC" 0 "6 days 23 hours idle: still logged in"
sql "UPDATE ers.session SET last_seen = now() - interval '7 days 1 minute' WHERE token_hash = $(sql_hash "$T2")" >/dev/null
wa check "$T2" "$IP"
is "$RC" 77 "7 days and a minute idle: 77"
like "$ERR" "the session expired after 7 days without activity: log in again" "... says it expired and why"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = $(sql_hash "$T2")")" 0 "... and the row is gone"
wa check "$T2" "$IP"
like "$ERR" "not logged in" "afterwards it is simply not logged in"
# expired rows of everyone are swept at the next login
sql "INSERT INTO ers.session (token_hash, mailbox_id, last_seen) SELECT sha256('old'), id, now() - interval '8 days' FROM ers.mailbox WHERE address = 'bob@acme.example'" >/dev/null
wa login anna@acme.example "$P/anna" "$IP"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = sha256('old')")" 0 "a login sweeps expired sessions"

# --- CSRF and cookies ----------------------------------------------------------------
wa csrf "$T1" "$IP"
C1=$OUT
like "$C1" '^[A-Za-z0-9_-]{43}$' "a CSRF token: 43 base64url characters"
ok "$([ "$C1" != "$T1" ]; echo $?)" "... not the session token"
unlike "$(pg_dump_all)" "$C1" "... nor stored anywhere"
wa csrf "$T1" "$IP"
is "$OUT" "$C1" "the same session gives the same CSRF token"
wa csrf "$T1" "$IP" "$C1"
is "$RC" 0 "it is accepted"
T3=$(wa login anna@acme.example "$P/anna" "$IP"; token)
wa csrf "$T3" "$IP"
ok "$([ "$OUT" != "$C1" ]; echo $?)" "another session has another CSRF token"
wa csrf "$T3" "$IP" "$C1"
is "$RC" 1 "... and refuses the first one's"
# (the first character: the last one of 43 base64url characters carries
# only 4 bits, so it is 'A' one time in 16)
if [ "${C1:0:1}" = A ]; then C1X=B${C1:1}; else C1X=A${C1:1}; fi
wa csrf "$T1" "$IP" "$C1X"
is "$RC" 1 "a changed CSRF token is refused"
wa csrf "$T1" "$IP" ""
is "$RC" 1 "an empty one is refused"
wa csrf "$T1" "$IP" "${C1}x"
is "$RC" 1 "a longer one is refused"
wa cookie "$T1" "$IP"
is "$OUT" "__Host-ers_session=$T1; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=604800" \
    "the cookie: __Host- prefix, Secure, HttpOnly, SameSite, 7 days"
wa cookie-clear
is "$OUT" "__Host-ers_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0" "logout's cookie deletes it"
wa cookie-token "theme=dark; __Host-ers_session=$T1; other=1"
is "$OUT" "[$T1]" "the token is found in a Cookie header"
wa cookie-token "ers_session=$T1"
is "$OUT" "[]" "a cookie without the __Host- prefix is not it"
wa cookie-token "__Host-ers_session=$T1; __Host-ers_session=x"
is "$OUT" "[$T1]" "the first of two is taken"
wa cookie-token "__Host-ers_session=${T1}AAAA"
is "$OUT" "[]" "a value of the wrong length is none"
wa cookie-token "__Host-ers_session=$(printf '%.42s' "$T1")!"
is "$OUT" "[]" "a value with a character outside base64url is none"

# --- logout -----------------------------------------------------------------------------
a0=$(audit_count)
wa logout "$T1"
is "$RC" 0 "logout"
is "$(sql "SELECT count(*) FROM ers.session WHERE token_hash = $(sql_hash "$T1")")" 0 "the session is gone on the server"
wa check "$T1" "$IP"
is "$RC" 77 "the token no longer works"
is "$(last_audit)" "anna@acme.example | session.logout | anna@acme.example | ok" "one audit row: the logout"
wa logout "$T1"
is "$RC" 0 "logging out again is no error"
is "$(audit_count)" $((a0 + 1)) "... and writes nothing"
wa logout garbage
is "$RC" 0 "nor is a malformed token"

# --- the password page -------------------------------------------------------------------
T4=$(wa login anna@acme.example "$P/anna" "$IP"; token)
T5=$(wa login anna@acme.example "$P/anna" 192.0.2.99; token)
hash0=$(sql "SELECT password_hash FROM ers.mailbox WHERE address = 'anna@acme.example'")
wa passwd "$T4" "$IP" "$P/anna" "$P/anna2" "$P/else"
is "$RC" 65 "new password and confirmation differ: 65"
like "$ERR" "the new password and its confirmation differ; nothing was changed" "... says so"
wa passwd "$T4" "$IP" "$P/empty" "$P/anna2" "$P/anna2"
is "$RC" 65 "no current password: 65"
wa passwd "$T4" "$IP" "$P/wrong" "$P/anna2" "$P/anna2"
is "$RC" 77 "a wrong current password: 77"
like "$ERR" "the current password is not right; nothing was changed" "... says so"
is "$(sql "SELECT count(*) FROM ers.login_failure WHERE address = 'anna@acme.example' AND kind = 'password'")" 1 \
    "... and counts as a failed login"
is "$(sql "SELECT password_hash FROM ers.mailbox WHERE address = 'anna@acme.example'")" "$hash0" "nothing changed yet"
wa passwd "$T4" "$IP" "$P/anna" "$P/anna2" "$P/anna2"
is "$RC" 0 "current, new and confirmation: changed"
is "$(last_audit)" "anna@acme.example | user.passwd | anna@acme.example | ok | changed with the current password" "one audit row"
wa check "$T4" "$IP"
is "$RC" 77 "the session that changed it has ended"
wa check "$T5" "$IP"
is "$RC" 77 "so has every other session of the user"
wa login anna@acme.example "$P/anna" "$IP"
is "$RC" 77 "the old password no longer logs in"
wa login anna@acme.example "$P/anna2" "$IP"
is "$RC" 0 "the new one does"
T6=$(token)
expect 0 "an admin resets anna's password" user passwd anna@acme.example --password-file "$P/anna"
wa check "$T6" "$IP"
is "$RC" 77 "an admin's reset ends the sessions too"
T7=$(wa login anna@acme.example "$P/anna" "$IP"; token)
expect 0 "disable anna" user disable anna@acme.example
wa check "$T7" "$IP"
is "$RC" 77 "disabling the user ends them too"
expect 0 "enable anna" user enable anna@acme.example
sql "DELETE FROM ers.login_failure" >/dev/null

# --- the delay after failed logins: per address ------------------------------------------
for i in 1 2 3 4; do
    wa login bob@acme.example "$P/wrong" 203.0.113.$i
    [ "$RC" -eq 77 ] || break
done
is "$RC" 77 "four wrong passwords for bob, from four client addresses: each refused as wrong"
a0=$(audit_count)
wa login bob@acme.example "$P/bob" 203.0.113.9
is "$RC" 69 "the fifth try at once, even with the right password: 69"
like "$ERR" "too many failed logins; try again in [12] s$" "... says when to try again"
like "$(last_audit)" "^web:203.0.113.9 \| session.login \| bob@acme.example \| denied \| too many failed logins; try again in [12] s$" \
    "... and writes an audit row"
is "$(audit_count)" $((a0 + 1)) "one audit row for the refused try"
is "$(sql "SELECT count(*) FROM ers.login_failure WHERE address = 'bob@acme.example'")" 4 "a refused try is not one more failure"
wa login anna@acme.example "$P/anna" 203.0.113.9
is "$RC" 0 "another address from that client is not slowed"
sql "UPDATE ers.login_failure SET at = at - interval '3 seconds' WHERE address = 'bob@acme.example'" >/dev/null
wa login bob@acme.example "$P/wrong" 203.0.113.9
is "$RC" 77 "after the wait a try is checked again (wrong again)"
wa login bob@acme.example "$P/bob" 203.0.113.9
like "$RC $ERR" "^69 .*try again in [1-4] s$" "five failures: the wait doubles"
sql "UPDATE ers.login_failure SET at = at - interval '10 minutes' WHERE address = 'bob@acme.example'" >/dev/null
for i in 1 2 3 4 5 6 7 8; do
    sql "INSERT INTO ers.login_failure (kind, address, client_ip) VALUES ('password', 'bob@acme.example', '203.0.113.$((20 + i))')" >/dev/null
done
wa login bob@acme.example "$P/bob" 203.0.113.9
like "$RC $ERR" "^69 .*try again in (2[0-9]|30) s$" "many failures: at most 30 s"
sql "UPDATE ers.login_failure SET at = at - interval '16 minutes' WHERE address = 'bob@acme.example'" >/dev/null
wa login bob@acme.example "$P/bob" 203.0.113.9
is "$RC" 0 "failures older than 15 minutes no longer count: the right password logs in"
is "$(sql "SELECT count(*) FROM ers.login_failure WHERE address = 'bob@acme.example'")" 0 \
    "a successful login clears the address's failures"

# --- per client address ------------------------------------------------------------------
BAD=198.51.100.66
for i in $(seq 1 11); do
    wa login "guess$i@acme.example" "$P/wrong" "$BAD"
    [ "$RC" -eq 77 ] || break
done
is "$RC" 77 "eleven wrong logins from one client, each for another address: each refused as wrong"
wa login anna@acme.example "$P/anna" "$BAD"
is "$RC" 69 "then that client must wait, even for another address with the right password"
like "$ERR" "too many failed logins; try again in [12] s$" "... says when"
wa login anna@acme.example "$P/anna" 198.51.100.67
is "$RC" 0 "another client is not slowed"
sql "UPDATE ers.login_failure SET at = at - interval '16 minutes' WHERE client_ip = '$BAD'" >/dev/null
wa login anna@acme.example "$P/anna" "$BAD"
is "$RC" 0 "after 15 minutes that client logs in"
sql "UPDATE ers.login_failure SET at = now() - interval '2 days'" >/dev/null
wa login nobody@acme.example "$P/wrong" "$IP"
is "$(sql "SELECT count(*) FROM ers.login_failure")" 1 "failures older than a day are swept when the next is written"

done_testing
