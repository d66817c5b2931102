# Sourced by test/bench/run: the webmail against Roundcube (test/bench/
# roundcube.sh) over HTTPS, each request a new curl, and the webmail CGI
# (build/ers-webmail.cgi) run as a process with the CGI environment set --
# a cold CGI request without the web server's own overhead -- side by side
# with its floors, in the same run, against the stack's Dovecot and a
# 5,000-message INBOX (WEBMAIL_MESSAGES):
#   1. ERS's INBOX page vs Roundcube's list request.  Goal: <= 0.5x.
#   2. opening a 16 KB message, ERS's page + body frame vs Roundcube's
#      preview.  Goal: <= 0.5x.
#   3. the INBOX page as a process vs a fresh curl doing LOGIN + SELECT +
#      FETCH of the same 50 envelopes.  Goal: <= 1.3x.
#   4. opening the 16 KB message vs curl fetching it.  Goal: <= 1.2x.
#   5. start to first byte without IMAP or database (GET /static/ers.css)
#      vs a dynamic hello-world CGI (test/bench/hello.c).  Goal: <= 3x.
# Medians over interleaved rounds, each round in a new random order.
# Writes the markdown section to $dir/results-webmail.md.
#
# Needs from the caller: dir, top, ERSCTL, ERS_CONFIG and the stack's
# variables (stack.env), say, calc, verdict; python3, curl and cc; root
# (Roundcube is installed with apt-get when missing).

bench_webmail() {
    local wm=$dir/webmail rounds=${WEBMAIL_ROUNDS:-50} warm=5 n=${WEBMAIL_MESSAGES:-5000}
    local user=reader@webbench.example
    local started load0
    started=$(date -u +%Y-%m-%dT%H:%MZ) load0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "webmail: a $n-message INBOX; the CGI as a process vs curl and a hello-world CGI, $rounds rounds"
    mkdir -p "$wm"
    "$ERSCTL" -q server host add localhost --kind imap --port "$IMAP_PORT" --tls starttls
    "$ERSCTL" -q server host add localhost --kind smtp --port "$SUBMISSION_PORT" --tls starttls
    "$ERSCTL" -q tenant add webbench --domain webbench.example --imap-host localhost --imap-port "$IMAP_PORT" \
        --smtp-host localhost --smtp-port "$SUBMISSION_PORT"
    ( umask 077; echo "webmail-bench-password-1" >"$wm/password" )
    "$ERSCTL" -q user add "$user" --quota-mb 4096 --password-file "$wm/password"

    # The INBOX as a Maildir written directly, then indexed by Dovecot: the
    # newest message is the 16 KB one (text and HTML), every tenth has an
    # attachment, 80% are read.
    local home
    home=$(doveadm -c "$DOVECOT_CONFIG" user -f home "$user")
    [ -n "$home" ] || { echo "bench: Dovecot does not know $user" >&2; exit 1; }
    python3 - "$home/Maildir" "$n" <<'PY'
import base64, os, random, sys, time
maildir, n = sys.argv[1], int(sys.argv[2])
random.seed(4711)
names = ["Alice Smith", "Bob Jones", "Chloé Martin", "Dariusz Nowak", "Eve Adams", "Frank Müller", "Grace Lee", "Hiro Tanaka"]
hosts = ["example.org", "webbench.example", "partner.example", "news.example"]
words = "quarterly report invoice meeting lunch project update question offer travel plan review draft contract budget".split()
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
t0 = int(time.time()) - n * 600
def text(k):
    return " ".join(random.choice(words) for _ in range(k))
for i in range(1, n + 1):
    name = random.choice(names)
    host = random.choice(hosts)
    subj = "The 16 KB message" if i == n else text(random.randint(2, 7)).capitalize()
    hdr = ("From: %s <%s@%s>\r\nTo: reader@webbench.example\r\nSubject: %s\r\nDate: %s\r\n"
           "Message-ID: <%d.bench@%s>\r\nMIME-Version: 1.0\r\n"
           % (name, name.split()[0].lower(), host, subj,
              time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t0 + i * 600)), i, host))
    if i == n:
        lines, k = [text(12) for _ in range(300)], 1
        while True:  # 16 KB in all, the same text in both parts
            plain = "Hello,\r\n\r\n" + "\r\n".join(lines[:k]) + "\r\n"
            html = "<html><body>" + "".join("<p>%s</p>" % l for l in lines[:k]) + "</body></html>"
            if len(hdr) + len(plain) + len(html) + 200 >= 16384:
                break
            k += 1
        body = ("Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + plain + "\r\n--b1\r\n"
                "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--b1--\r\n")
    elif i % 10 == 0:
        att = base64.encodebytes(os.urandom(random.randint(600, 3000))).decode().replace("\n", "\r\n")
        body = ("Content-Type: multipart/mixed; boundary=\"m1\"\r\n\r\n--m1\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text(40) + "\r\n--m1\r\n"
                "Content-Type: application/pdf; name=\"doc%d.pdf\"\r\nContent-Disposition: attachment; "
                "filename=\"doc%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s--m1--\r\n" % (i, i, att))
    else:
        body = ("Content-Type: text/plain; charset=utf-8\r\n\r\n"
                + "\r\n".join(text(12) for _ in range(random.randint(3, 30))) + "\r\n")
    data = (hdr + body).encode()
    flags = "S" if i != n and random.random() < 0.8 else ""
    with open(os.path.join(maildir, "cur", "%d.M%dP1.bench,S=%d:2,%s" % (t0 + i * 600, i, len(data), flags)), "wb") as f:
        f.write(data)
    if i == n:
        print(len(data), file=open(os.path.join(os.path.dirname(maildir), "big-size"), "w"))
PY
    local big_size
    big_size=$(cat "$home/big-size")
    chown -R 5000:5000 "$home"
    doveadm -c "$DOVECOT_CONFIG" force-resync -u "$user" INBOX
    local status
    status=$(doveadm -c "$DOVECOT_CONFIG" -f flow mailbox status -u "$user" messages INBOX)
    [ "$status" = "INBOX messages=$n" ] || { echo "bench: the INBOX holds $status, not $n" >&2; exit 1; }

    # The CGI from a copy of the build (as ersctl: a rebuild meanwhile must
    # not change what is measured), and the hello-world built the same way.
    mkdir -p "$dir/build/web"
    # The front (libc only) loads the module beside it for the pages of a
    # session.
    cp "$top/build/ers-webmail.cgi" "$top/build/ers-webmail.so" "$dir/build/web/"
    local cgi=$dir/build/web/ers-webmail.cgi module=$dir/build/web/ers-webmail.so
    cc -O2 -std=gnu17 -Wall -Wextra -Werror -fPIE -pie -Wl,-z,relro,-z,now -o "$wm/hello" test/bench/hello.c
    # What loading the module's libraries alone costs: an empty program that
    # needs the same shared libraries (readelf's NEEDED) and does nothing.
    local needed
    needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/-l:\1/p' | tr '\n' ' ')
    echo 'int main(void) { return 0; }' >"$wm/empty.c"
    # shellcheck disable=SC2086 # one word per library
    cc -O2 -fPIE -pie -Wl,-z,relro,-z,now -Wl,--no-as-needed -o "$wm/libs-only" "$wm/empty.c" $needed

    # A session: the CGI's own login, as a browser would post it.
    local form="email=${user/@/%40}&password=webmail-bench-password-1" cookie
    cookie=$(printf '%s' "$form" | env -i ERS_CONFIG="$dir/web/ers.yaml" REQUEST_METHOD=POST PATH_INFO=/login \
        REMOTE_ADDR=127.0.0.1 CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#form} HTTPS=on "$cgi" |
        sed -n 's/^Set-Cookie: \([^;]*\);.*/\1/p')
    [ -n "$cookie" ] || { echo "bench: the webmail login as $user gave no session cookie" >&2; exit 1; }

    # ERS as a FastCGI server (ers-webmail-fcgi, one worker) behind a
    # lighttpd of its own on the same certificate, with the same session.
    local fport ff=$wm/fcgi
    fport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$ff/root" "$ff/tmp"
    cp "$top/build/ers-webmail-fcgi" "$dir/build/web/"
    ERS_CONFIG=$dir/web/ers.yaml setsid "$dir/build/web/ers-webmail-fcgi" --socket "$ff/sock" --socket-mode 0600 \
        --workers 1 --pid-file "$ff/pid" </dev/null >"$ff/log" 2>&1 &
    cat >"$ff/lighttpd.conf" <<CONF
server.modules = ("mod_openssl", "mod_fastcgi")
server.bind = "127.0.0.1"
server.port = $fport
server.document-root = "$ff/root"
server.pid-file = "$ff/lighttpd.pid"
server.errorlog = "$ff/error.log"
server.upload-dirs = ("$ff/tmp")
ssl.engine = "enable"
ssl.pemfile = "$dir/tls/server.pem"
ssl.privkey = "$dir/tls/server.key"
fastcgi.server = ("/" => (("socket" => "$ff/sock", "check-local" => "disable", "fix-root-scriptname" => "enable")))
CONF
    local i
    for i in $(seq 1 100); do [ -S "$ff/sock" ] && break; sleep 0.05; done
    lighttpd -f "$ff/lighttpd.conf" || { echo "bench: lighttpd for ers-webmail-fcgi did not start" >&2; exit 1; }
    for i in $(seq 1 100); do ss -Htln "sport = :$fport" | grep -q . && break; sleep 0.05; done

    # Roundcube beside it, logged in as the same user (test/bench/roundcube.sh).
    say "webmail: starting Roundcube"
    roundcube_start "$user" webmail-bench-password-1

    local master
    master=$(sed -n 's/^WEBMAIL_MASTER_PASSWORD=//p' "$dir/secrets")
    python3 - "$cgi" "$dir/web/ers.yaml" "$cookie" "$user" "$master" "$IMAP_PORT" "$TLS_CA" "$wm/hello" "$n" \
        "https://127.0.0.1:$WEB_PORT" "$RC_BASE" "$RC_JAR" "$RC_TOKEN" "https://127.0.0.1:$fport" >"$wm/cmds.json" <<'PY'
import json, shutil, sys
cgi, conf, cookie, user, master, port, ca, hello, n, ers, rc, rc_jar, rc_token, ersf = sys.argv[1:15]
n = int(n)
def cgi_env(path, query="", with_cookie=True):
    return {"ERS_CONFIG": conf, "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "HTTPS": "on",
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": cookie if with_cookie else ""}
# The CGI logs in as USER*MASTER with the master password: so does curl.
curl = [shutil.which("curl"), "-s", "--ssl-reqd", "--cacert", ca, "--user", "%s*ers-webmail:%s" % (user, master)]
inbox = "imap://127.0.0.1:%s/INBOX" % port
last50 = "%d:%d" % (n - 49, n)
print(json.dumps([
    {"name": "cgi_list", "argv": [cgi], "env": cgi_env("/"), "expect": "Page 1 of %d" % ((n + 49) // 50)},
    {"name": "curl_list", "argv": curl + [inbox, "-X", "FETCH %s ENVELOPE" % last50], "env": {}, "expect": "* %d FETCH" % n},
    {"name": "curl_list_items", "argv": curl + [inbox, "-X", "FETCH %s (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)" % last50],
     "env": {}, "expect": "* %d FETCH" % n},
    {"name": "cgi_open", "argv": [cgi], "env": cgi_env("/message", "folder=INBOX&uid=%d" % n), "expect": "The 16 KB message"},
    {"name": "curl_open", "argv": curl + [inbox + ";UID=%d" % n], "env": {}, "expect": "</html>"},
    {"name": "cgi_css", "argv": [cgi], "env": cgi_env("/static/ers.css", with_cookie=False), "expect": "Status: 200"},
    {"name": "cgi_login", "argv": [cgi], "env": cgi_env("/login", with_cookie=False), "expect": "Status: 200"},
    {"name": "hello", "argv": [hello], "env": cgi_env("/"), "expect": "Hello, world"},
    {"name": "libs_only", "argv": [hello.replace("/hello", "/libs-only")], "env": {}, "expect": ""},
    # Over HTTPS, each a new curl (a new TLS handshake to the web server):
    # ERS's lighttpd + CGI and Roundcube's lighttpd + php-cgi.
    {"name": "ers_list", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", cookie, ers + "/"],
     "env": {}, "expect": "Page 1 of %d" % ((n + 49) // 50)},
    {"name": "ers_open", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", cookie,
                                  ers + "/message?folder=INBOX&uid=%d" % n, ers + "/message/body?folder=INBOX&uid=%d" % n],
     "env": {}, "expect": ["<h1>The 16 KB message</h1>", "<base target=\"_blank\">"]},
    # The same over the FastCGI server.
    {"name": "ersf_list", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", cookie, ersf + "/"],
     "env": {}, "expect": "Page 1 of %d" % ((n + 49) // 50)},
    {"name": "ersf_open", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", cookie,
                                   ersf + "/message?folder=INBOX&uid=%d" % n, ersf + "/message/body?folder=INBOX&uid=%d" % n],
     "env": {}, "expect": ["<h1>The 16 KB message</h1>", "<base target=\"_blank\">"]},
    {"name": "rc_list", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", rc_jar, "-H", "X-Roundcube-Request: " + rc_token,
                                 rc + "/?_task=mail&_action=list&_mbox=INBOX&_page=1&_remote=1"],
     "env": {}, "expect": "Messages 1 to 50 of %d" % n},
    {"name": "rc_open", "argv": [shutil.which("curl"), "-s", "--cacert", ca, "-b", rc_jar,
                                 rc + "/?_task=mail&_action=preview&_uid=%d&_mbox=INBOX&_framed=1" % n],
     "env": {}, "expect": "The 16 KB message"},
]))
PY
    say "webmail: $warm warm-up rounds, then $rounds rounds of 15 processes each"
    python3 - "$wm/cmds.json" "$rounds" "$warm" >"$wm/times" <<'PY'
# Each run: posix_spawn with stdout on a pipe; the time to the first byte
# and to the exit.  The output must hold "expect" and the exit status be 0.
import json, os, random, statistics, sys, time
cmds = json.load(open(sys.argv[1]))
rounds, warm = int(sys.argv[2]), int(sys.argv[3])
devnull = os.open(os.devnull, os.O_RDONLY)
def run(c):
    r, w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(c["argv"][0], c["argv"], c["env"], file_actions=actions)
    os.close(w)
    out = [os.read(r, 65536)]
    t1 = time.perf_counter_ns()
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        out.append(b)
    _, st = os.waitpid(pid, 0)
    t2 = time.perf_counter_ns()
    os.close(r)
    data, code = b"".join(out), os.waitstatus_to_exitcode(st)
    expect = c["expect"] if isinstance(c["expect"], list) else [c["expect"]]
    if code != 0 or any(e.encode() not in data for e in expect):
        sys.exit("bench: webmail: %s: exit %d, output without %r:\n%s"
                 % (c["name"], code, c["expect"], data[:800].decode(errors="replace")))
    return (t1 - t0) / 1e6, (t2 - t0) / 1e6
first = {c["name"]: [] for c in cmds}
total = {c["name"]: [] for c in cmds}
rng = random.Random(4711)
for i in range(warm + rounds):
    order = cmds[:]
    rng.shuffle(order)
    for c in order:
        f, t = run(c)
        if i >= warm:
            first[c["name"]].append(f)
            total[c["name"]].append(t)
for c in cmds:
    q = statistics.quantiles(total[c["name"]], n=4)
    print(c["name"], "%.2f %.2f %.2f %.2f" % (statistics.median(first[c["name"]]), statistics.median(total[c["name"]]), q[0], q[2]))
PY
    # name first-byte total q1 q3 (ms)
    roundcube_stop
    kill "$(cat "$ff/lighttpd.pid")" 2>/dev/null
    local fpid
    fpid=$(cat "$ff/pid" 2>/dev/null)
    [ -n "$fpid" ] && kill "$fpid" 2>/dev/null
    # name first-byte total q1 q3 (ms)
    wm_t() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$wm/times"; }
    local list=$(wm_t cgi_list 3) list_f=$(wm_t curl_list 3) list_fi=$(wm_t curl_list_items 3)
    local open=$(wm_t cgi_open 3) open_f=$(wm_t curl_open 3)
    local css=$(wm_t cgi_css 2) login=$(wm_t cgi_login 2) hello=$(wm_t hello 2) libs_only=$(wm_t libs_only 3)
    local e_list=$(wm_t ers_list 3) e_open=$(wm_t ers_open 3) rc_list=$(wm_t rc_list 3) rc_open=$(wm_t rc_open 3)
    local f_list=$(wm_t ersf_list 3) f_open=$(wm_t ersf_open 3) r_f_list r_f_open
    r_f_list=$(calc "$f_list / $rc_list") r_f_open=$(calc "$f_open / $rc_open")
    local r_list r_list_i r_open r_css r_login r_rc_list r_rc_open
    r_list=$(calc "$list / $list_f") r_list_i=$(calc "$list / $list_fi") r_open=$(calc "$open / $open_f")
    r_css=$(calc "$css / $hello") r_login=$(calc "$login / $hello")
    r_rc_list=$(calc "$e_list / $rc_list") r_rc_open=$(calc "$e_open / $rc_open")
    local libs libs_module
    libs=$(ldd "$cgi" | grep -c '=>') libs_module=$(ldd "$module" | grep -c '=>')
    iqr() { echo "$(wm_t "$1" 4)–$(wm_t "$1" 5)"; }
    {
        echo
        echo "## 6. The webmail against Roundcube: a $n-message INBOX"
        echo
        echo "Run $started (load average $load0 at its start, $(cut -d' ' -f1-3 /proc/loadavg) at its end)."
        echo "The INBOX holds $n messages (a Maildir written directly, then \`doveadm"
        echo "force-resync\`; every tenth with an attachment); the newest is a $big_size-byte"
        echo "text + HTML message.  $warm warm-up rounds, then $rounds rounds, each running all 15"
        echo "processes below in a new random order; medians (interquartile range in brackets)."
        echo
        echo "Rows 1–2, over HTTPS: each request a new curl process (so a new TLS handshake"
        echo "to the web server) with a logged-in session's cookies.  ERS: \`ers-webmail-fcgi\`"
        echo "(one worker) behind a lighttpd of its own (mod_fastcgi): it keeps its database"
        echo "connection and the session's IMAP connection between requests: it logs in to"
        echo "Dovecot once per session, not per request (ers-webmail(8); test/integration/webmail_fcgi counts it)."
        echo "Rows 1b–2b: the stack's lighttpd running \`ers-webmail.cgi\` (mod_cgi) for the"
        echo "same requests, which logs in to Dovecot as"
        echo "USER*ers-webmail over plain IMAP on loopback at every request, the master key's hash SHA512-CRYPT"
        echo "of 1000 rounds (ers-webmail(8), \"Connections to Dovecot\").  Roundcube: Debian's"
        echo "$(dpkg-query -W -f '${Version}' roundcube-core) with SQLite, PHP $(php-cgi -v 2>/dev/null | awk 'NR == 1 { print $2 }') as php-cgi"
        echo "FastCGI (2 children, opcache on) behind a lighttpd of its own on the same"
        echo "certificate, logging in to the same Dovecot over plain IMAP on loopback with the"
        echo "user's password (yescrypt, as every user's), as it does for every request."
        echo "ERS's message is its page and its body frame (one curl, one connection);"
        echo "Roundcube's is its preview (\`_action=preview\`, the body inline)."
        echo
        echo "| what | ERS webmail | Roundcube | ratio (goal) |"
        echo "| --- | --- | --- | --- |"
        echo "| 1. message list: ERS's INBOX page (the newest 50, folder list with counts) vs Roundcube's list request (\`_action=list\`, 50 rows) | $f_list ms ($(iqr ersf_list)) | $rc_list ms ($(iqr rc_list)) | **$r_f_list — $(verdict "$r_f_list" 0.5)** (≤ 0.5) |"
        echo "| 2. open the $big_size-byte message: page + body frame vs preview | $f_open ms ($(iqr ersf_open)) | $rc_open ms ($(iqr rc_open)) | **$r_f_open — $(verdict "$r_f_open" 0.5)** (≤ 0.5) |"
        echo "| 1b. the same list, ERS as a CGI | $e_list ms ($(iqr ers_list)) | $rc_list ms | $r_rc_list |"
        echo "| 2b. the same message, ERS as a CGI | $e_open ms ($(iqr ers_open)) | $rc_open ms | $r_rc_open |"
        echo
        echo "Rows 3–6: \`build/ers-webmail.cgi\` run as a process with the CGI environment"
        echo "set (no web server, no TLS to it), from exec to exit, beside its floors: curl"
        echo "logging in to the same Dovecot with the same credentials (over STARTTLS), and a"
        echo "dynamic hello-world CGI (\`test/bench/hello.c\`, libc only).  The CGI is a front"
        echo "that loads $libs shared library and answers rows 5 and 6 itself; for the pages of"
        echo "a session it loads the module \`ers-webmail.so\`, which needs $libs_module."
        echo
        echo "| what | ERS webmail | floor | ratio (goal) |"
        echo "| --- | --- | --- | --- |"
        echo "| 3. the INBOX page as a process (session check in PostgreSQL, LOGIN, the folder list, SELECT, FETCH, the HTML page) | $list ms ($(iqr cgi_list)) | curl: LOGIN + SELECT + \`FETCH $((n - 49)):$n ENVELOPE\`: $list_f ms ($(iqr curl_list)) | **$r_list — $(verdict "$r_list" 1.3)** (≤ 1.3) |"
        echo "| the same, the floor fetching what the CGI fetches (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE) | | $list_fi ms ($(iqr curl_list_items)) | $r_list_i |"
        echo "| 4. opening the $big_size-byte message as a process (fetched, marked read, parsed, headers page) | $open ms ($(iqr cgi_open)) | curl: LOGIN + SELECT + \`UID FETCH $n BODY[]\`: $open_f ms ($(iqr curl_open)) | **$r_open — $(verdict "$r_open" 1.2)** (≤ 1.2) |"
        echo "| 3c. the INBOX page from the FastCGI server over HTTPS (row 1: the login not paid again), against the same floor | $f_list ms | $list_f ms | **$(calc "$f_list / $list_f") — $(verdict "$(calc "$f_list / $list_f")" 1)** (below the floor: < 1) |"
        echo "| 4c. the message (page + body frame) from the FastCGI server over HTTPS (row 2), against the same floor | $f_open ms | $open_f ms | **$(calc "$f_open / $open_f") — $(verdict "$(calc "$f_open / $open_f")" 1)** (< 1) |"
        echo "| 5. start to first byte without IMAP or database: GET /static/ers.css | $css ms | hello-world CGI: $hello ms | **$r_css — $(verdict "$r_css" 3)** (≤ 3) |"
        echo "| 6. GET /login without a session cookie (no configuration, no database) | $login ms | $hello ms | $r_login |"
        echo "| an empty program needing the module's $libs_module shared libraries (exec to exit) | $libs_only ms | $hello ms | $(calc "$libs_only / $hello") |"
        echo
        echo "The last row is what a page of a session pays before its own work: loading"
        echo "the module's libraries (libpq, libcurl and GMime bring most of them)."
        echo "Row 3's page does more than its floor: LIST with STATUS for the folder list"
        echo "and its counts, besides SELECT and FETCH.  Roundcube and the CGI log in to"
        echo "Dovecot at every request (the CGI's login is the cheap one: no memory-hard hash,"
        echo "no TLS handshake on loopback; Roundcube's checks the user's yescrypt hash); the"
        echo "FastCGI server logs in once per session."
    } >"$dir/results-webmail.md"
}
