#!/usr/bin/env bash
# Strict-Transport-Security on every answer the webmail gives over HTTPS
# (issue 13, gap 4): the front's own (login form, stylesheet, script) and
# the module's (pages of a session, redirects, errors, a refused body),
# through the stack's lighttpd; never over plain HTTP (the CGI run by hand
# without HTTPS=on); max-age and includeSubDomains from ers.yaml's webmail
# section, read alike by the front and the module, 0 for none; bad values
# refused by `ersctl config check` with file:line:column.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers  # the webmail reads the stack's own database

BASE=https://127.0.0.1:$WEB_PORT
CGI=$ERS_TOP/build/ers-webmail.cgi
WEB_CONF=$ERS_STACK_DIR/web/ers.yaml  # what the stack's lighttpd gives the CGI
dom=hsts$RANDOM.test
host=webhsts.ers.test
user=hilda@$dom
echo 'hsts-password-123' >"$T_DIR/pw"
YEAR=max-age=31536000

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "HSTS Co $RANDOM" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user" -q user add $user --quota-mb 100 --password-file "$T_DIR/pw"

JAR=$T_DIR/jar
# web METHOD PATH [curl args...]: over the stack's HTTPS; sets CODE, HDR.
web() {
    local method=$1 path=$2; shift 2
    curl -s --max-time 30 --cacert "$TLS_CA" -b "$JAR" -c "$JAR" -X "$method" -D "$T_DIR/h" -o /dev/null \
        "$BASE$path" "$@" >/dev/null
    HDR=$(tr -d '\r' <"$T_DIR/h")
    CODE=$(printf '%s\n' "$HDR" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
}
# cgi CONFIG PATH [VAR=VALUE...]: one GET by hand, as a web server runs the
# CGI (ers-webmail(8)), with only these variables; sets CODE, HDR.
cgi() {
    local conf=$1 path=$2; shift 2
    (cd / && env -i PATH=/usr/bin:/bin ERS_CONFIG="$conf" REQUEST_METHOD=GET PATH_INFO="$path" \
        REMOTE_ADDR=127.0.0.1 "$@" "$CGI") </dev/null >"$T_DIR/out" 2>"$T_DIR/err"
    HDR=$(sed -n '1,/^\r\{0,1\}$/p' "$T_DIR/out" | tr -d '\r')
    CODE=$(printf '%s\n' "$HDR" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
}
# sts: every Strict-Transport-Security value of the answer, one a line.
sts() { printf '%s\n' "$HDR" | sed -n 's/^Strict-Transport-Security: //Ip'; }
# has_sts WANT-CODE WANT-STS DESCRIPTION: the status, and the one header
# (WANT-STS empty: none).
has_sts() {
    if [ "$CODE" = "$1" ] && [ "$(sts)" = "$2" ]; then ok 0 "$3"; else
        ok 1 "$3"; diag "wanted status $1 and Strict-Transport-Security '${2:-(none)}'" "got:" "$HDR"; fi
}
DUMMY=HTTP_COOKIE=__Host-ers_session=check  # any session cookie: the module answers /login

# --- over HTTPS: the front's answers -------------------------------------------
web GET /login
has_sts 200 "$YEAR" "the login form (the front): Strict-Transport-Security: $YEAR"
web GET "/login?out=1"
has_sts 200 "$YEAR" "the logged-out login form (the front)"
web GET /static/ers.css
has_sts 200 "$YEAR" "/static/ers.css (the front)"
web GET /static/ers.js
has_sts 200 "$YEAR" "/static/ers.js (the front)"
web HEAD /static/ers.css -I
has_sts 200 "$YEAR" "HEAD /static/ers.css (the front)"

# --- over HTTPS: the module's answers ---------------------------------------------
web GET /no/such/page
has_sts 404 "$YEAR" "an error page: 404 (the module)"
web PUT /login
has_sts 405 "$YEAR" "an error page: 405 (the module)"
web POST /login -H 'Content-Type: text/plain' --data-binary 'not a form'
has_sts 413 "$YEAR" "a body refused before the configuration is used: 413 (the module)"
web POST /login -H 'Origin: https://elsewhere.example' --data-urlencode "email=$user" --data-urlencode "password=x"
has_sts 403 "$YEAR" "a cross-site POST refused: 403 (the module)"
web GET /
has_sts 303 "$YEAR" "the mailbox without a session: a redirect to /login (the module)"
web POST /login --data-urlencode "email=$user" --data-urlencode "password=wrong-password"
[ "$CODE" != 303 ]; ok $? "a wrong password does not log in" || diag "$HDR"
is "$(sts)" "$YEAR" "... and its answer (the module) has the header"
web POST /login --data-urlencode "email=$user" --data-urlencode "password=hsts-password-123"
has_sts 303 "$YEAR" "login: the redirect to the mailbox (the module)"
web GET /
has_sts 200 "$YEAR" "the mailbox after login (the module)"
web GET /password
has_sts 200 "$YEAR" "Change Password after login (the module)"
web GET "/message?folder=INBOX&uid=999999"
has_sts 404 "$YEAR" "a message that does not exist: 404 (the module)"
web GET /login
has_sts 303 "$YEAR" "/login with a session: the redirect to the mailbox (the module)"
unlike "$(sts)" "includeSubDomains|preload" "no includeSubDomains or preload by default"

# --- by hand: no header without HTTPS=on -------------------------------------------
cgi "$WEB_CONF" /login
has_sts 200 "" "without HTTPS=on (plain HTTP): the login form has none (the front)"
cgi "$WEB_CONF" /static/ers.css
has_sts 200 "" "... /static/ers.css has none (the front)"
cgi "$WEB_CONF" /no/such/page
has_sts 404 "" "... an error page has none (the module)"
cgi "$WEB_CONF" /login "$DUMMY"
has_sts 200 "" "... /login with a session cookie has none (the module)"
cgi "$WEB_CONF" /login HTTPS=off
has_sts 200 "" "HTTPS=off: none"
cgi "$WEB_CONF" /login HTTPS=on
has_sts 200 "$YEAR" "by hand with HTTPS=on: the header (the front)"
cgi "$WEB_CONF" /login HTTPS=on "$DUMMY"
has_sts 200 "$YEAR" "... and the module's"

# --- the configuration: max-age 0, another max-age, includeSubDomains -------------
# conf NAME TEXT: the stack's webmail configuration with TEXT after it.
conf() { { cat "$WEB_CONF"; printf '%s\n' "$2"; } >"$T_DIR/$1.yaml"; }
conf zero $'webmail:\n  hsts_max_age: 0   # a proxy in front sends it'
for p in /login /static/ers.css /static/ers.js; do
    cgi "$T_DIR/zero.yaml" "$p" HTTPS=on
    has_sts 200 "" "hsts_max_age: 0: GET $p over HTTPS has none (the front)"
done
cgi "$T_DIR/zero.yaml" /no/such/page HTTPS=on
has_sts 404 "" "hsts_max_age: 0: an error page has none (the module)"
cgi "$T_DIR/zero.yaml" /login HTTPS=on "$DUMMY"
has_sts 200 "" "hsts_max_age: 0: /login with a session cookie has none (the module)"

conf ten $'# the webmail\'s own settings\nwebmail:\n  hsts_max_age: 600\n\n  hsts_include_subdomains: true  # every host of the domain is HTTPS'
cgi "$T_DIR/ten.yaml" /static/ers.css HTTPS=on
has_sts 200 "max-age=600; includeSubDomains" "hsts_max_age: 600 with hsts_include_subdomains: the front's answer"
cgi "$T_DIR/ten.yaml" /no/such/page HTTPS=on
has_sts 404 "max-age=600; includeSubDomains" "... and the module's"
cgi "$T_DIR/ten.yaml" /static/ers.css
has_sts 200 "" "... none without HTTPS=on"

# Flow style, which the front does not read itself: it leaves the request to
# the module, so both still agree.
conf flow 'webmail: {hsts_max_age: 0}'
cgi "$T_DIR/flow.yaml" /static/ers.css HTTPS=on
has_sts 200 "" "webmail in flow style with max-age 0: /static/ers.css has none"
cgi "$T_DIR/flow.yaml" /login HTTPS=on
has_sts 200 "" "... nor the login form"
conf flow2 'webmail: {hsts_max_age: 86400, hsts_include_subdomains: false}'
cgi "$T_DIR/flow2.yaml" /login HTTPS=on
has_sts 200 "max-age=86400" "webmail in flow style with max-age 86400: the login form has it"

# --- bad values: refused by config check, and by the webmail ----------------------------
# bad NAME TEXT COLUMN MESSAGE: config check refuses the webmail section TEXT (on the
# file's last line) with FILE:LINE:COLUMN: MESSAGE.
bad() {
    conf "$1" "$2"
    local f=$T_DIR/$1.yaml line
    line=$(wc -l <"$f")
    run --config "$f" config check
    if [ "$RC" -eq 78 ] && printf '%s' "$ERR" | grep -Eq -- "^ersctl: config check: $f:$line:$3: $4\$"; then
        ok 0 "config check refuses $1: $f:$line:$3"; else
        ok 1 "config check refuses $1: $f:$line:$3"; diag "exit $RC" "stderr: $ERR"; fi
}
range='webmail\.hsts_max_age: must be a whole number 0\.\.63072000, got'
bad negative $'webmail:\n  hsts_max_age: -1' 17 "$range \"-1\""
bad word $'webmail:\n  hsts_max_age: year' 17 "$range \"year\""
bad fraction $'webmail:\n  hsts_max_age: 1.5' 17 "$range \"1\\.5\""
bad too-long $'webmail:\n  hsts_max_age: 63072001' 17 "$range \"63072001\""
bad not-bool $'webmail:\n  hsts_include_subdomains: yes' 28 'webmail\.hsts_include_subdomains: must be true or false, got "yes"'
bad preload $'webmail:\n  hsts_preload: true' 3 'webmail: unknown key "hsts_preload"; allowed: hsts_max_age, hsts_include_subdomains'
conf two-years $'webmail:\n  hsts_max_age: 63072000'
run --config "$T_DIR/two-years.yaml" config check
ok $RC "config check takes two years (63072000)" || diag "$ERR"
section() { printf '%s\n' "$OUT" | sed -n '/^webmail:$/,+2p'; }
is "$(section)" $'webmail:\n  hsts_max_age: 63072000\n  hsts_include_subdomains: false' "... and shows the webmail section"
run config check
is "$(section)" $'webmail:\n  hsts_max_age: 31536000\n  hsts_include_subdomains: false' "config check shows the defaults"
# The webmail refuses a configuration config check refuses: the front does
# not answer with a value the module would not take.
cgi "$T_DIR/negative.yaml" /static/ers.css HTTPS=on
has_sts 500 "$YEAR" "hsts_max_age: -1: the webmail says it is not configured correctly (the default header)"
like "$(cat "$T_DIR/err")" "webmail\\.hsts_max_age: must be a whole number" "... and the reason goes to the error log"

expect 0 "cleanup: delete the tenant" -q tenant delete "$dom" --yes
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
