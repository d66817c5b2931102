#!/usr/bin/env bash
# Hostile mail in a real browser: test/e2e/hostile.mjs appends 100+ hostile
# messages (test/e2e/hostile_gen.mjs: script, handlers, SVG and MathML
# tricks, remote CSS and images, meta refresh, base, forms, data: and
# javascript: URLs, broken markup, hostile headers and attachment names, a
# 5 MB body, MIME nested 50 deep, 500 parts) to one mailbox over IMAP, then
# opens every INBOX page and every message in headless Chromium: no script
# may run, no request may leave 127.0.0.1, every page stays usable.
# Uses the stack's own database: the CGI reads the stack's ers.yaml.
. "$(dirname "$0")/lib.sh"
. "$ERS_TOP/test/e2e/tap.sh"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

e2e_ready || { done_testing; exit 0; }

dom=hostile$RANDOM.test  # a domain of its own: reruns on one stack start empty
PW=hostile-password-123
pw=$T_DIR/pw; printf '%s\n' "$PW" >"$pw"
e2e_hosts
expect 0 "setup: tenant" -q tenant add "Hostile Co $dom" --domain "$dom" --imap-host localhost --imap-port "$IMAP_PORT" \
    --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
expect 0 "setup: user" -q user add "victim@$dom" --quota-mb 200 --password-file "$pw"

e2e_run hostile.mjs 480 USER="victim@$dom" PASSWORD="$PW" IMAP_PORT="$IMAP_PORT" TLS_CA="$TLS_CA"

expect 0 "cleanup: delete the tenant" -q tenant delete "Hostile Co $dom" --yes
done_testing
