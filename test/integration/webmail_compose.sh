#!/usr/bin/env bash
# The webmail's Compose, Send, Reply and Forward through lighttpd and the
# CGI (curl as the browser) against the stack's real Postfix and Dovecot:
# a message with an attachment from a@ to b@ lands in b's INBOX and in a's
# Sent; a POST without the CSRF token, a header injection and a bad
# address send nothing; reply and forward fill the form in; Postfix lets
# the webmail's master login send as the user and as no one else.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers

dom=compose$RANDOM.test   # a domain of its own: reruns on one stack start empty
host=composetest.ers.test
pw=$T_DIR/pw; echo 'compose-password-123' >"$pw"
expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant" -q tenant add "Compose Co" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
expect 0 "setup: user a" -q user add a@$dom --password-file "$pw" --quota-mb 100
expect 0 "setup: user b" -q user add b@$dom --password-file "$pw" --quota-mb 100

W=https://127.0.0.1:$WEB_PORT
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")

# web JAR CURL-ARGS...: a request as the browser with cookie jar JAR; sets
# CODE, BODY (the page) and HDR (the response's headers).
web() {
    local jar=$1; shift
    CODE=$(curl -s --max-time 60 --cacert "$TLS_CA" -c "$jar" -b "$jar" -D "$T_DIR/hdr" -o "$T_DIR/body" \
        -w '%{http_code}' "$@")
    BODY=$(cat "$T_DIR/body"); HDR=$(tr -d '\r' <"$T_DIR/hdr")
}
login() { # JAR ADDRESS
    web "$1" "$W/login" --data-urlencode "email=$2" --data-urlencode "password=compose-password-123"
}
csrf_of() { printf '%s' "$BODY" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1; }

# imap USER FOLDER-URL-PART [curl args]: IMAP as USER through the master user.
imap() {
    local user=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$user*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@" | tr -d '\r'
}
# uids USER FOLDER SUBJECT-WORD: the UIDs of the messages whose subject has it.
uids() { imap "$1" "$2" -X "UID SEARCH SUBJECT \"$3\"" | sed -n 's/^\* SEARCH *//p'; }
# wait_for_mail USER FOLDER WORD: up to 15 s for one to arrive.
wait_for_mail() {
    for _ in $(seq 1 150); do [ -n "$(uids "$@")" ] && return 0; sleep 0.1; done
    return 1
}

A=$T_DIR/a.jar B=$T_DIR/b.jar X=$T_DIR/x.jar

# --- the form ----------------------------------------------------------------------
web "$X" "$W/compose"
is "$CODE" 303 "without a session /compose goes to the login page"
like "$HDR" $'\nLocation: /login' "... to /login"
login "$A" a@$dom
is "$CODE" 303 "a logs in"
web "$A" "$W/compose"
is "$CODE" 200 "GET /compose: 200"
like "$BODY" '<form method="post" action="/compose" enctype="multipart/form-data">' "a multipart form posting to /compose"
for f in to cc bcc subject; do
    like "$BODY" "<input name=\"$f\"" "... with the field $f"
done
like "$BODY" '<textarea name="body"' "... the message text"
like "$BODY" '<input type="file" name="attachments" multiple>' "... attachments (several files)"
like "$BODY" '<button type="submit">Send</button>' "... a Send button"
like "$BODY" '<a class="button secondary" href="/">Cancel</a>' "... and Cancel, a plain link home (nothing kept)"
CSRF_A=$(csrf_of)
like "$CSRF_A" '^[A-Za-z0-9_-]{43}$' "... and the session's CSRF token"
unlike "$(printf '%s' "$BODY" | sed -n '/<section class="card compose">/,/<\/section>/p')" '<script|onclick|javascript:' \
    "the form needs no script"

# --- send with an attachment -------------------------------------------------------
printf 'attached notes\nline two\n' >"$T_DIR/notes.txt"
subj="hello-$RANDOM"
web "$A" "$W/compose" -F "csrf=$CSRF_A" -F "to=Bee <b@$dom>" -F "cc=" -F "bcc=" -F "subject=$subj über" \
    -F "body=first line
second line" -F "attachments=@$T_DIR/notes.txt;type=text/plain" -F "attachments=@$T_DIR/pw;filename=C:\\dir\\pw.bin"
is "$CODE" 303 "Send: 303"
like "$HDR" $'\nLocation: /\\?sent=1' "... back to the mailbox with ?sent=1"
wait_for_mail b@$dom INBOX "$subj"
ok $? "b's INBOX has the message"
uid_b=$(uids b@$dom INBOX "$subj")
msg=$(imap b@$dom "INBOX;UID=$uid_b")
like "$msg" "From: a@$dom" "... from a"
like "$msg" "To: Bee <b@$dom>" "... to b with the name typed"
like "$msg" "Subject: $subj =\\?(utf-8|UTF-8)\\?B\\?w7xiZXI=\\?=" "... the subject RFC 2047-encoded"
like "$msg" 'filename="?notes.txt"?' "... the attachment notes.txt"
like "$msg" "$(printf 'attached notes\nline two\n' | base64 | head -c 20)" "... with its bytes"
like "$msg" 'filename="?pw.bin"?' "... a file sent with a Windows path keeps only its name"
like "$msg" "first line" "... and the text"
like "$msg" "Message-I[dD]: <[^>]+@$dom>" "... a Message-ID on a's domain"
sent_uid=$(uids a@$dom Sent "$subj")
ok "$([ -n "$sent_uid" ]; echo $?)" "a's Sent has the copy"
like "$(imap a@$dom "Sent;UID=$sent_uid")" 'filename="?notes.txt"?' "... with the attachment"
like "$(imap a@$dom Sent -X "UID FETCH $sent_uid FLAGS")" 'Seen' "... marked read"

# --- refused: no CSRF token, header injection, a bad address ----------------------------
count() { imap "$1" "$2" -X 'SEARCH ALL' | sed -n 's/^\* SEARCH *//p' | wc -w; }
sent0=$(count a@$dom Sent) inbox0=$(count b@$dom INBOX)
web "$A" "$W/compose" -F "to=b@$dom" -F "subject=forged-$RANDOM" -F "body=forged"
is "$CODE" 403 "a POST without the CSRF token: 403"
like "$BODY" "security token" "... says why"
web "$A" "$W/compose" -F "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" -F "to=b@$dom" -F "subject=forged" -F "body=forged"
is "$CODE" 403 "... and with a wrong token"
web "$A" "$W/compose" --form-string "csrf=$CSRF_A" --form-string "to=b@$dom" \
    --form-string $'subject=inject\r\nBcc: evil@'"$dom" --form-string "body=x"
is "$CODE" 422 "a Subject with CR LF Bcc: 422"
like "$BODY" "Subject may not contain a line break" "... says what is wrong"
like "$BODY" "value=\"b@$dom\"" "... and the form keeps what was typed"
web "$A" "$W/compose" --data-urlencode "csrf=$CSRF_A" --data-urlencode "to=b@$dom" \
    --data-urlencode $'subject=urlenc\r\nBcc: evil@'"$dom" --data-urlencode "body=x"
is "$CODE" 422 "... also sent as an ordinary form"
web "$A" "$W/compose" -F "csrf=$CSRF_A" -F "to=b@$dom, not an address" -F "subject=bad" -F "body=x"
is "$CODE" 422 "a bad address: 422"
like "$BODY" 'is not an e-mail address; write it as name@example.com' "... with the clear message"
like "$BODY" '<textarea name="body" rows="16"[^>]*>' "... the form shown again"
web "$A" "$W/compose" -F "csrf=$CSRF_A" -F "to=" -F "subject=nobody" -F "body=x"
is "$CODE" 422 "no recipient: 422"
like "$BODY" "at least one recipient" "... says one is needed"
sleep 1
is "$(count a@$dom Sent):$(count b@$dom INBOX)" "$sent0:$inbox0" "none of them sent anything or kept a copy"

# --- too large ----------------------------------------------------------------------------
head -c $((26 * 1024 * 1024)) /dev/zero >"$T_DIR/big.bin"
web "$A" "$W/compose" -F "csrf=$CSRF_A" -F "to=b@$dom" -F "subject=big" -F "attachments=@$T_DIR/big.bin"
is "$CODE" 413 "26 MB of attachments: 413"
like "$BODY" "at most 25 MB" "... says the limit"
rm -f "$T_DIR/big.bin"

# --- sent, but the copy for Sent does not fit ----------------------------------------------
expect 0 "setup: user c with a 1 MB quota" -q user add c@$dom --password-file "$pw" --quota-mb 1
C=$T_DIR/c.jar
login "$C" c@$dom
web "$C" "$W/compose"
head -c $((1200 * 1024)) /dev/urandom >"$T_DIR/fat.bin"
web "$C" "$W/compose" -F "csrf=$(csrf_of)" -F "to=b@$dom" -F "subject=fat-$subj" -F "attachments=@$T_DIR/fat.bin"
is "$CODE" 200 "sent, but Sent is over quota: 200, no redirect"
like "$BODY" "Message sent\." "... says the message was sent"
like "$BODY" "could not be saved" "... and that the copy in Sent could not be saved"
wait_for_mail b@$dom INBOX "fat-$subj"
ok $? "... b has it"

# --- Postfix: the master login sends as the user, and only as the user --------------------------
smtp_as() { # FROM
    printf 'From: %s\r\nTo: b@%s\r\nSubject: direct\r\n\r\nx\r\n' "$1" "$dom" >"$T_DIR/direct.eml"
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "a@$dom*ers-webmail:$master" \
        "smtp://127.0.0.1:$SUBMISSION_PORT" --mail-from "$1" --mail-rcpt "b@$dom" -T "$T_DIR/direct.eml" 2>&1
}
smtp_as a@$dom >/dev/null
ok $? "submission as a*MASTER from a's own address: accepted"
out=$(smtp_as b@$dom); rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "... from b's address: refused (smtpd_sender_login_maps sees the login as a)"

# --- reply --------------------------------------------------------------------------------
login "$B" b@$dom
web "$B" "$W/compose?reply=$uid_b&folder=INBOX"
is "$CODE" 200 "Reply: the form"
like "$BODY" "<h1>Reply</h1>" "... titled Reply"
like "$BODY" "name=\"to\" value=\"a@$dom\"" "... To is the sender"
like "$BODY" "name=\"subject\" value=\"Re: $subj über\"" "... Subject gets Re:"
mid=$(printf '%s' "$msg" | sed -n 's/^Message-ID: *<\(.*\)>.*/\1/Ip' | head -n 1)
like "$BODY" "name=\"in_reply_to\" value=\"$mid\"" "... In-Reply-To is the original's Message-ID"
like "$BODY" "&gt; first line" "... the original quoted"
CSRF_B=$(csrf_of)
web "$B" "$W/compose" -F "csrf=$CSRF_B" -F "to=a@$dom" -F "subject=Re: $subj über" -F "in_reply_to=$mid" \
    -F "title=Reply" -F "body=thanks"
is "$CODE" 303 "the reply is sent"
wait_for_mail a@$dom INBOX "$subj"
reply_uid=$(uids a@$dom INBOX "$subj")
reply=$(imap a@$dom "INBOX;UID=$reply_uid")
like "$reply" "In-Reply-To: <$mid>" "a gets it with In-Reply-To"
like "$reply" "References: <$mid>" "... and References"
web "$A" "$W/compose?reply=$reply_uid&folder=INBOX"
like "$BODY" "name=\"subject\" value=\"Re: $subj über\"" "replying to a reply: Re: is not doubled"
web "$A" "$W/compose?reply=999999&folder=INBOX"
is "$CODE" 404 "reply to a message that is not there: 404"
web "$A" "$W/compose?reply=abc&folder=INBOX"
is "$CODE" 400 "... to a bad message number: 400"

# --- forward ---------------------------------------------------------------------------------
web "$B" "$W/compose?forward=$uid_b&folder=INBOX"
is "$CODE" 200 "Forward: the form"
like "$BODY" "name=\"subject\" value=\"Fwd: $subj über\"" "... Subject gets Fwd:"
like "$BODY" "Forwarded message" "... the original's text below"
like "$BODY" 'name="fwd_att_0" value="1" checked> notes.txt' "... its attachments offered, ticked"
web "$B" "$W/compose" -F "csrf=$CSRF_B" -F "to=a@$dom" -F "subject=Fwd: $subj" -F "forward=$uid_b" -F "folder=INBOX" \
    -F "fwd_att_0=1" -F "title=Forward" -F "body=see below"
is "$CODE" 303 "the forward is sent"
wait_for_mail a@$dom INBOX "Fwd: $subj"
fwd=$(imap a@$dom "INBOX;UID=$(uids a@$dom INBOX "Fwd: $subj")")
like "$fwd" 'filename="?notes.txt"?' "a gets the forward with the ticked attachment"
unlike "$fwd" 'filename="?pw.bin"?' "... and not the one left out"

expect 0 "cleanup: delete the tenant" -q tenant delete "Compose Co" --yes
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
