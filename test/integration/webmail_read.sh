#!/usr/bin/env bash
# The webmail's reading side over HTTPS, as a browser without script sees
# it (curl against the stack's lighttpd + ers-webmail.cgi, the stack's real
# Dovecot behind it): the folder list with custom folders and unread
# counts, paging newest first over 120 messages, opening marks read, Mark
# as Unread, Delete through its confirmation page to Trash and for good in
# Trash, GET never changing anything, attachment downloads with a hostile
# file name, the external-sender warning against every tenant domain,
# remote images blocked until "Show images", the security headers (with
# Strict-Transport-Security, over HTTPS), the script and the admin
# placeholder.
. "$(dirname "$0")/lib.sh"
. "$ERS_STACK_DIR/stack.env"
export ERS_CONFIG=$ERS_STACK_DIR/ers.yaml
T_DB=ers  # Dovecot reads the stack's own database

BASE=https://127.0.0.1:$WEB_PORT
dom=rd$RANDOM.test        # a domain of its own: reruns on one stack start empty
dom2=rd$RANDOM-other.test # the tenant's second domain
host=webread.ers.test
pw=$T_DIR/pw; echo 'read-password-123' >"$pw"
user=reader@$dom admin=boss@$dom
master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$ERS_STACK_DIR/secrets")

expect 0 "setup: IMAP host" -q server host add $host --kind imap --port 143 --tls starttls
expect 0 "setup: SMTP host" -q server host add $host --kind smtp --port 587
expect 0 "setup: tenant with two domains" -q tenant add "Read Co $RANDOM" --domain $dom --imap-host $host --imap-port 143 --smtp-host $host
run -q tenant domain add $dom $dom2
expect 0 "setup: user" -q user add $user --quota-mb 100 --password-file "$pw"
expect 0 "setup: tenant admin" -q user add $admin --role tenant_admin --quota-mb 100 --password-file "$pw"

# --- helpers -----------------------------------------------------------------
# imapc ADDRESS PATH [curl args...]: IMAP as the master user (TLS verified).
imapc() {
    local who=$1 path=$2; shift 2
    curl -s --max-time 20 --ssl-reqd --cacert "$TLS_CA" --user "$who*ers-webmail:$master" \
        "imap://127.0.0.1:$IMAP_PORT/$path" "$@"
}
# put ADDRESS FOLDER FILE: APPEND a message (unseen).
put() { imapc "$1" "$2" -T "$3" >/dev/null; }
# msg FILE FROM SUBJECT [BODY]: a plain message.
msg() {
    printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <%s@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
        "$2" "$user" "$3" "$RANDOM$RANDOM" "${4:-hello}" >"$1"
}
JAR=$T_DIR/jar
# web METHOD PATH [curl args...]: sets CODE, HDR (headers), BODY.
web() {
    local method=$1 path=$2; shift 2
    curl -s --max-time 30 --cacert "$TLS_CA" -b "$JAR" -c "$JAR" -X "$method" -D "$T_DIR/h" -o "$T_DIR/b" \
        "$BASE$path" "$@" >/dev/null
    HDR=$(tr -d '\r' <"$T_DIR/h"); BODY=$(tr -d '\0' <"$T_DIR/b")
    CODE=$(printf '%s\n' "$HDR" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
}
hdr() { printf '%s\n' "$HDR" | sed -n "s/^$1: //Ip" | head -n 1; }
csrf() { printf '%s' "$BODY" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1; }
# uid_of SUBJECT: the UID in the current page's link for that subject.
uid_of() { printf '%s' "$BODY" | grep -o "uid=[0-9]*\">$1<" | head -n 1 | sed 's/uid=\([0-9]*\).*/\1/'; }
# row_of SUBJECT: the class of the list row holding that subject.
row_of() { printf '%s' "$BODY" | grep -o "<tr class=\"msg [a-z]*\"><td class=\"from\">.*" | grep -F ">$1<" \
    | head -n 1 | sed 's/^<tr class="msg \([a-z]*\)".*/\1/'; }
# Each row on its own line, for row_of.
rows() { BODY=$(printf '%s' "$BODY" | sed 's/<tr /\n<tr /g'); }
login() { # ADDRESS
    rm -f "$JAR"
    web POST /login --data-urlencode "email=$1" --data-urlencode "password=read-password-123"
}
secure_headers() { # DESCRIPTION: the headers every response carries
    local bad=0
    [ -n "$(hdr Content-Security-Policy)" ] || bad=1
    [ "$(hdr X-Content-Type-Options)" = nosniff ] || bad=1
    [ "$(hdr Referrer-Policy)" = no-referrer ] || bad=1
    [ -n "$(hdr Cache-Control)" ] || bad=1
    [ "$(hdr Strict-Transport-Security)" = max-age=31536000 ] || bad=1  # over HTTPS: ers.yaml's default
    ok $bad "$1: security headers" || diag "$HDR"
}

# --- mail ---------------------------------------------------------------------------
imapc $user "" -X 'CREATE "Bulk"' >/dev/null
imapc $user "" -X 'CREATE "Caf&AOk-"' >/dev/null  # "Café" in modified UTF-7
for i in $(seq -w 1 120); do msg "$T_DIR/m" "bulk@$dom" "bulk $i"; put $user Bulk "$T_DIR/m"; done
msg "$T_DIR/m" "pen@outside.example" "in the cafe"; put $user "Caf&AOk-" "$T_DIR/m"
msg "$T_DIR/m" "friend@outside.example" "from outside"; put $user INBOX "$T_DIR/m"
msg "$T_DIR/m" "colleague@$dom2" "from the second domain"; put $user INBOX "$T_DIR/m"
msg "$T_DIR/m" "colleague@$dom" "to be deleted"; put $user INBOX "$T_DIR/m"
# An attachment from outside with a hostile name (RFC 2231: ../../etc/passwd"CRLF...).
printf 'From: Mallory <m@outside.example>\r\nTo: %s\r\nSubject: with attachment\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: text/html; name="x.html"\r\nContent-Disposition: attachment; filename*=UTF-8'"''"'..%%2F..%%2Fetc%%2Fpasswd%%22%%3B%%0D%%0AX-Evil%%3A%%201%%20caf%%C3%%A9.html\r\nContent-Transfer-Encoding: base64\r\n\r\nPHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\r\n--b1--\r\n' \
    "$user" >"$T_DIR/att"
put $user INBOX "$T_DIR/att"
# A name with a right-to-left override: "invoice<U+202E>fdp.exe" would read "invoiceexe.pdf".
printf 'From: m@outside.example\r\nTo: %s\r\nSubject: rtl name\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b2"\r\n\r\n--b2\r\nContent-Type: text/plain\r\n\r\nx\r\n--b2\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="=?UTF-8?B?%s?="\r\n\r\nMZ\r\n--b2--\r\n' \
    "$user" "$(printf 'invoice\342\200\256fdp.exe' | base64)" >"$T_DIR/rtl"
put $user INBOX "$T_DIR/rtl"
printf 'From: news@outside.example\r\nTo: %s\r\nSubject: with images\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>look <img src="https://img.outside.example/pixel.png" alt="pixel"></p>\r\n' \
    "$user" >"$T_DIR/img"
put $user INBOX "$T_DIR/img"

# An HTML message with inline images: a PNG (shown, as a data: URL) and an SVG (never).
png=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
printf 'From: art@outside.example\r\nTo: %s\r\nSubject: inline images\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="r1"\r\n\r\n--r1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p><img src="cid:dot@x" alt="dot"><img src="cid:pic@x" alt="vector"></p>\r\n--r1\r\nContent-Type: image/png\r\nContent-ID: <dot@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--r1\r\nContent-Type: image/svg+xml\r\nContent-ID: <pic@x>\r\nContent-Disposition: inline\r\n\r\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\r\n--r1--\r\n' \
    "$user" "$png" >"$T_DIR/cid"
put $user INBOX "$T_DIR/cid"
# curl's APPEND sets \Seen: make them all new mail.
for f in INBOX Bulk "Caf&AOk-"; do imapc $user "$f" -X 'STORE 1:* -FLAGS (\Seen)' >/dev/null; done

# --- login, the frame ---------------------------------------------------------------------
login $user
is "$CODE" 303 "login: 303 to the mailbox"
web GET /
is "$CODE" 200 "the mailbox: 200"
secure_headers "the mailbox"
like "$(hdr Content-Security-Policy)" "script-src 'self';" "the pages' policy allows our own script file only"
unlike "$BODY" "<script>|<script [^s]| on[a-z]+=\"" "no inline script or event handler"
like "$BODY" '<script src="/static/ers.js" defer></script>' "the page loads /static/ers.js"
like "$BODY" 'Refresh Inbox' "a Refresh Inbox button"
like "$BODY" 'href="/compose"[^>]*>Compose<' "a Compose button linking to /compose"
like "$BODY" '<summary[^>]*>'"$user"'</summary>.*href="/password">Change Password<' "the address opens a menu with Change Password"
like "$BODY" 'action="/logout".*>Logout</button>' "a Logout button"
unlike "$BODY" 'Admin' "a user sees no Admin tab"

# --- folders ------------------------------------------------------------------------------
nav=$(printf '%s' "$BODY" | grep -o '<nav class="folders".*</nav>' | head -n 1)
order=$(printf '%s' "$nav" | grep -o '<span class="name">[^<]*' | sed 's/.*>//' | tr '\n' ',')
is "$order" "Inbox,Sent,Drafts,Trash,Junk,Bulk,Café," "folders: the five known ones first with friendly names, then custom ones (UTF-7 decoded)"
like "$nav" 'href="/\?folder=Bulk"><span class="name">Bulk</span><span class="badge" title="unread">120</span>' "Bulk shows 120 unread"
like "$nav" 'href="/\?folder=Caf%26AOk-"><span class="name">Café</span><span class="badge" title="unread">1</span>' "Café links by its server name, shows 1 unread"
like "$nav" 'class="folder current" href="/\?folder=INBOX" aria-current="page"><span class="name">Inbox</span><span class="badge" title="unread">7</span>' \
    "Inbox is the current folder, 7 unread"
web GET "/?folder=Caf%26AOk-"
like "$BODY" '<h1>Café</h1>' "a custom folder opens with its decoded name"
like "$BODY" 'in the cafe' "... and lists its message"

# --- paging ----------------------------------------------------------------------------------
web GET "/?folder=Bulk"
rows
like "$BODY" "120 messages, 120 unread" "Bulk: 120 messages, 120 unread"
is "$(printf '%s' "$BODY" | grep -c '^<tr class="msg ')" 50 "page 1 shows 50 rows"
is "$(printf '%s' "$BODY" | grep -o '>bulk [0-9]*<' | head -n 1)" ">bulk 120<" "... newest first"
like "$BODY" "Page 1 of 3" "Page 1 of 3"
like "$BODY" 'href="/\?folder=Bulk&amp;page=2" rel="next"' "... with a link to page 2"
is "$(row_of "bulk 120")" unread "unread rows are marked unread"
web GET "/?folder=Bulk&page=2"
rows
is "$(printf '%s' "$BODY" | grep -o '>bulk [0-9]*<' | sed -n '1p;$p' | tr -d '<>\n')" "bulk 070bulk 021" "page 2: bulk 070 .. bulk 021"
web GET "/?folder=Bulk&page=3"
rows
is "$(printf '%s' "$BODY" | grep -o '>bulk [0-9]*<' | sed -n '1p;$p' | tr -d '<>\n')" "bulk 020bulk 001" "page 3: bulk 020 .. bulk 001"
unlike "$BODY" 'rel="next"' "... and is the last"
web GET "/?folder=No%20Such%20Folder"
is "$CODE" 404 "a folder that does not exist: 404"
like "$BODY" 'There is no folder named &quot;No Such Folder&quot;' "... saying so"
web GET "/?folder=a%0Db"
is "$CODE" 400 "a folder name with a control character: 400"

# --- open, Mark as Unread -----------------------------------------------------------------------
web GET /
rows
U=$(uid_of "from outside")
is "$(row_of "from outside")" unread "before opening: unread"
web GET "/message?folder=INBOX&uid=$U"
is "$CODE" 200 "open a message"
secure_headers "a message"
like "$BODY" 'href="/compose\?reply='"$U"'&amp;folder=INBOX"[^>]*>Reply<' "Reply links to /compose?reply=UID&folder=F"
like "$BODY" 'href="/compose\?forward='"$U"'&amp;folder=INBOX"[^>]*>Forward<' "Forward links to /compose?forward=UID&folder=F"
like "$BODY" 'href="/\?folder=INBOX"[^>]*>&larr; Back to Inbox<' "Back to Inbox"
C=$(csrf)
web GET /
rows
is "$(row_of "from outside")" read "opening marked it read"
web POST /message/unread --data-urlencode "folder=INBOX" -d "uid=$U"
is "$CODE" 403 "Mark as Unread without the CSRF token: 403"
web GET /
rows
is "$(row_of "from outside")" read "... and nothing changed"
web POST /message/unread --data-urlencode "csrf=$C" --data-urlencode "folder=INBOX" -d "uid=$U"
is "$CODE:$(hdr Location)" "303:/?folder=INBOX&done=unread" "Mark as Unread: back to the folder"
web GET "/?folder=INBOX&done=unread"
rows
is "$(row_of "from outside")" unread "... it is unread again"
like "$BODY" "Marked as unread." "... and the page says so"
web GET "/message/unread?folder=INBOX&uid=$U"
is "$CODE" 405 "GET /message/unread: 405"

# --- external sender warning ------------------------------------------------------------------------
web GET "/message?folder=INBOX&uid=$U"
like "$BODY" 'class="warning" role="note">This message comes from outside your organization.' "outside.example: the warning"
web GET /
rows
web GET "/message?folder=INBOX&uid=$(uid_of "from the second domain")"
unlike "$BODY" "outside your organization" "a sender at the tenant's second domain: no warning"
web GET /
rows
UA=$(uid_of "with attachment")
web GET "/message?folder=INBOX&uid=$UA"
like "$BODY" 'class="warning strong" role="note">[^<]*This message comes from outside your organization and has attachments' \
    "outside with an attachment: the stronger warning"

# --- attachments ---------------------------------------------------------------------------------------
link=$(printf '%s' "$BODY" | grep -o 'href="/message/attachment?[^"]*"' | head -n 1 | sed 's/^href="//; s/"$//; s/&amp;/\&/g')
is "$link" "/message/attachment?folder=INBOX&uid=$UA&part=0" "the attachment is a download link"
web GET "$link"
is "$CODE" 200 "download: 200"
is "$(hdr Content-Type)" "application/octet-stream" "Content-Type application/octet-stream, not the sender's text/html"
cd_=$(hdr Content-Disposition)
like "$cd_" "^attachment; filename=\"[^\"/\\\\]*\"; filename\\*=UTF-8''[A-Za-z0-9!#\$&+.^_\`|~%-]*\$" \
    "Content-Disposition: attachment, a quoted ASCII name and a percent-encoded UTF-8 one"
unlike "$cd_" "/|\\.\\./|%2F" "... no path in the name"
like "$cd_" "caf%C3%A9\\.html\$" "... the UTF-8 name kept in filename*"
unlike "$HDR" "^X-Evil" "the CR LF in the name made no header"
is "$(hdr X-Content-Type-Options)" nosniff "X-Content-Type-Options: nosniff"
is "$(hdr Content-Security-Policy)" "default-src 'none'; sandbox" "CSP: default-src 'none'; sandbox"
is "$(hdr Strict-Transport-Security)" "max-age=31536000" "Strict-Transport-Security on a download over HTTPS"
is "$BODY" "<script>alert(1)</script>" "the bytes are the attachment's"
diag "Content-Disposition: $cd_"
web GET /
rows
UR=$(uid_of "rtl name")
web GET "/message?folder=INBOX&uid=$UR"
like "$BODY" 'download>invoice_fdp.exe</a>' "a right-to-left override in a name is shown as _"
web GET "/message/attachment?folder=INBOX&uid=$UR&part=0"
is "$(hdr Content-Disposition)" "attachment; filename=\"invoice_fdp.exe\"; filename*=UTF-8''invoice_fdp.exe" "... and downloads as invoice_fdp.exe"
web GET "/message/attachment?folder=INBOX&uid=$UA&part=7"
is "$CODE" 404 "an attachment that does not exist: 404"
web GET "/message/attachment?folder=INBOX&uid=$UA&part=0&inline=1"
is "$CODE" 404 "inline=1 refuses what is not a PNG, GIF, JPEG or WebP image"

# --- remote images ---------------------------------------------------------------------------------------
web GET /
rows
UI=$(uid_of "with images")
web GET "/message?folder=INBOX&uid=$UI"
like "$BODY" '1 remote image was blocked. <a href="/message\?folder=INBOX&amp;uid='"$UI"'&amp;images=1">Show images</a>' \
    "a blocked remote image is announced with Show images"
like "$BODY" 'src="/message/body\?folder=INBOX&amp;uid='"$UI"'"' "the frame URL has no images=1"
web GET "/message/body?folder=INBOX&uid=$UI"
secure_headers "the body frame"
unlike "$BODY" "img.outside.example" "the frame does not load the remote image"
like "$(hdr Content-Security-Policy)" "img-src data:;" "... and its policy allows data: images only"
like "$(hdr Content-Security-Policy)" "sandbox" "... in a sandbox"
web GET "/message?folder=INBOX&uid=$UI&images=1"
unlike "$BODY" "remote image was blocked" "after Show images: no notice"
like "$BODY" 'src="/message/body\?folder=INBOX&amp;uid='"$UI"'&amp;images=1"' "... the frame URL asks for images"
web GET "/message/body?folder=INBOX&uid=$UI&images=1"
like "$BODY" '<img src="https://img.outside.example/pixel.png"' "... the frame shows the image"
is "$(hdr Content-Security-Policy | grep -o "img-src [^;]*")" "img-src data: https:" "... its policy allows https: images"
unlike "$(hdr Content-Security-Policy)" "script-src|allow-scripts" "... and still no script"

web GET /
rows
UC=$(uid_of "inline images")
web GET "/message/body?folder=INBOX&uid=$UC"
like "$BODY" '<img src="data:image/png;base64,'"$png"'"' "an inline PNG (cid:) is shown as a data: URL"
unlike "$BODY" 'svg|alert' "an inline SVG is not"
web GET "/message/attachment?folder=INBOX&uid=$UC&part=0&inline=1"
is "$CODE:$(hdr Content-Type)" "200:image/png" "inline=1 serves a PNG as image/png"
like "$(hdr Content-Disposition)" "^inline; filename=" "... inline"
web GET "/message/attachment?folder=INBOX&uid=$UC&part=1&inline=1"
is "$CODE" 404 "inline=1 refuses an SVG"
web GET "/message/attachment?folder=INBOX&uid=$UC&part=1"
is "$CODE:$(hdr Content-Type)" "200:application/octet-stream" "... which downloads as application/octet-stream"

# --- Delete ---------------------------------------------------------------------------------------------------
web GET /
rows
UD=$(uid_of "to be deleted")
trash_count() { imapc $user "" -X 'STATUS "Trash" (MESSAGES)' | tr -d '\r' | sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p'; }
t0=$(trash_count)
web GET "/message/delete?folder=INBOX&uid=$UD&confirm=1"
is "$CODE" 405 "GET /message/delete: 405"
web GET /
rows
is "$(uid_of "to be deleted")" "$UD" "... and the message is still there"
web POST /message/delete --data-urlencode "folder=INBOX" -d "uid=$UD" -d confirm=1
is "$CODE" 403 "Delete without the CSRF token: 403"
web POST /message/delete --data-urlencode "csrf=$C" --data-urlencode "folder=INBOX" -d "uid=$UD"
is "$CODE" 200 "Delete first shows a confirmation page"
like "$BODY" "Delete this message\\? It will be moved to Trash." "... asking: Delete this message? It will be moved to Trash."
like "$BODY" 'name="confirm" value="1"' "... with a button posting confirm=1"
web GET /
rows
is "$(uid_of "to be deleted")" "$UD" "... and nothing was deleted yet"
web POST /message/delete --data-urlencode "csrf=$C" --data-urlencode "folder=INBOX" -d "uid=$UD" -d confirm=1
is "$CODE:$(hdr Location)" "303:/?folder=INBOX&done=moved" "confirmed: back to the folder"
web GET "/?folder=INBOX&done=moved"
rows
is "$(uid_of "to be deleted")" "" "... the message left the Inbox"
like "$BODY" "moved to Trash" "... and the page says so"
is "$(trash_count)" $((t0 + 1)) "... it is in Trash"
web GET "/?folder=Trash"
rows
UT=$(uid_of "to be deleted")
ok "$([ -n "$UT" ]; echo $?)" "Trash lists it"
web POST /message/delete --data-urlencode "csrf=$C" --data-urlencode "folder=Trash" -d "uid=$UT"
like "$BODY" "Delete this message permanently\\?" "in Trash the confirmation says: permanently"
web POST /message/delete --data-urlencode "csrf=$C" --data-urlencode "folder=Trash" -d "uid=$UT" -d confirm=1
is "$CODE:$(hdr Location)" "303:/?folder=Trash&done=deleted" "confirmed in Trash"
is "$(trash_count)" "$t0" "... it is gone from Trash"
is "$(imapc $user INBOX -X 'SEARCH SUBJECT "to be deleted"' | tr -d '\r')" "* SEARCH" "... and not back in the Inbox"
web GET "/message?folder=Trash&uid=$UT"
is "$CODE" 404 "opening it now: 404"

# --- notices, pages, script, admin -----------------------------------------------------------------------------
web GET "/?sent=1"
like "$BODY" "Message sent." "?sent=1: Message sent."
for p in /password /mfa "/?folder=Bulk"; do
    web GET "$p"; secure_headers "GET $p"
done
web GET /static/ers.js
is "$CODE:$(hdr Content-Type)" "200:text/javascript; charset=utf-8" "/static/ers.js is served"
like "$BODY" 'data-confirm' "... the script confirms Delete"
like "$BODY" '"Keyboard shortcuts"' "... and has the help overlay"
web GET /static/ers.css
is "$CODE" 200 "/static/ers.css is served"
like "$BODY" "prefers-color-scheme: dark" "... with a dark mode"
login $admin
web GET /
like "$BODY" '<a href="/admin/users"[^>]*>Admin</a>' "a tenant admin sees the Admin tab"

expect 0 "cleanup: delete the tenant" -q tenant delete "$dom" --yes
expect 0 "cleanup: withdraw the hosts" -q server host remove $host
done_testing
