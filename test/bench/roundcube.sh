# Sourced by test/bench/webmail.sh: Roundcube (Debian's roundcube-core with
# SQLite, PHP 8.2 through php-cgi as FastCGI with opcache) served over HTTPS
# by a lighttpd of its own on the stack's certificate, against the stack's
# Dovecot -- the peer the webmail is measured against (issue 22).  Installed
# here, by `make bench` only: `make check` never needs it.
#
# roundcube_start USER PASSWORD: sets RC_BASE (its URL), RC_JAR (a cookie jar
# with a logged-in session) and RC_TOKEN (the session's request token, which
# its list request must carry).  The lighttpd is stopped by roundcube_stop.

roundcube_install() {
    local want=(roundcube-core roundcube-sqlite3 php8.2-cgi php8.2-sqlite3) missing=() p
    for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]} for the Roundcube comparison"
    # No database made by dbconfig: the bench makes its own SQLite file.
    echo "roundcube-core roundcube/dbconfig-install boolean false" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$dir/roundcube-apt.log" 2>&1 ||
        { tail -n 20 "$dir/roundcube-apt.log" >&2; echo "bench: could not install Roundcube" >&2; exit 1; }
}

roundcube_start() {
    local user=$1 pass=$2 rc=$dir/roundcube port
    roundcube_install
    mkdir -p "$rc/config" "$rc/temp" "$rc/logs" "$rc/log"
    # Its own configuration directory (ROUNDCUBE_CONFIG_DIR): Debian's
    # defaults, then what differs -- the stack's Dovecot over plain loopback
    # (Roundcube's own default, localhost:143, and the cheapest for it), a
    # SQLite database of its own, no plugins.
    cp /etc/roundcube/defaults.inc.php /etc/roundcube/mimetypes.php "$rc/config/"
    cat >"$rc/config/config.inc.php" <<PHP
<?php
\$config = [];
\$config['db_dsnw'] = 'sqlite:///$rc/roundcube.db?mode=0640';
\$config['imap_host'] = '127.0.0.1:$IMAP_PORT';
\$config['smtp_host'] = '';
\$config['des_key'] = '$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')';
\$config['temp_dir'] = '$rc/temp/';
\$config['log_dir'] = '$rc/logs/';
\$config['plugins'] = [];
\$config['skin'] = 'elastic';
\$config['enable_installer'] = false;
\$config['enable_spellcheck'] = false;
\$config['mail_pagesize'] = 50;
PHP
    php -r '$db = new PDO("sqlite:" . $argv[1]); $db->exec(file_get_contents($argv[2]));' \
        "$rc/roundcube.db" /usr/share/roundcube/SQL/sqlite.initial.sql
    chown -R www-data:www-data "$rc/temp" "$rc/logs" "$rc/roundcube.db"
    chown www-data:www-data "$rc"
    port=$((WEB_PORT + 100))
    while port_in_use "$port"; do port=$((port + 1)); done
    cat >"$rc/lighttpd.conf" <<CONF
server.modules = ("mod_openssl", "mod_fastcgi", "mod_setenv", "mod_access")
server.bind = "127.0.0.1"
server.port = $port
server.username = "www-data"
server.groupname = "www-data"
server.document-root = "/var/lib/roundcube/public_html"
server.follow-symlink = "enable"
server.pid-file = "$rc/lighttpd.pid"
server.errorlog = "$rc/log/error.log"
index-file.names = ("index.php")
ssl.engine = "enable"
ssl.pemfile = "$dir/tls/server.pem"
ssl.privkey = "$dir/tls/server.key"
fastcgi.server = (".php" => ((
    "bin-path" => "/usr/bin/php-cgi -d opcache.enable=1 -d opcache.validate_timestamps=0",
    "socket" => "$rc/php.sock",
    "max-procs" => 1,
    "bin-environment" => ("PHP_FCGI_CHILDREN" => "2", "PHP_FCGI_MAX_REQUESTS" => "100000",
                          "ROUNDCUBE_CONFIG_DIR" => "$rc/config"),
)))
setenv.add-environment = ("ROUNDCUBE_CONFIG_DIR" => "$rc/config")
CONF
    chown www-data "$rc/log"
    lighttpd -tt -f "$rc/lighttpd.conf" >"$rc/log/check.log" 2>&1 ||
        { cat "$rc/log/check.log" >&2; echo "bench: Roundcube's lighttpd configuration is wrong" >&2; exit 1; }
    lighttpd -f "$rc/lighttpd.conf" >"$rc/log/start.log" 2>&1 ||
        { cat "$rc/log/start.log" >&2; echo "bench: Roundcube's lighttpd did not start" >&2; exit 1; }
    RC_BASE=https://127.0.0.1:$port RC_JAR=$rc/jar
    local i
    for i in $(seq 1 100); do port_in_use "$port" && break; sleep 0.1; done
    # Its login as a browser does it: the form's token, then the POST.
    local page token
    page=$(curl -s --cacert "$TLS_CA" -c "$RC_JAR" -b "$RC_JAR" "$RC_BASE/?_task=login")
    token=$(printf '%s' "$page" | sed -n 's/.*name="_token" value="\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$token" ] || { printf '%s\n' "$page" | head -c 2000 >&2; cat "$rc/log/error.log" "$rc/logs/"* >&2 2>/dev/null
                         echo "bench: Roundcube's login page has no token" >&2; exit 1; }
    curl -s --cacert "$TLS_CA" -c "$RC_JAR" -b "$RC_JAR" -o /dev/null "$RC_BASE/?_task=login" \
        --data-urlencode "_token=$token" -d "_task=login&_action=login&_timezone=UTC&_url=" \
        --data-urlencode "_user=$user" --data-urlencode "_pass=$pass"
    page=$(curl -s --cacert "$TLS_CA" -c "$RC_JAR" -b "$RC_JAR" "$RC_BASE/?_task=mail&_mbox=INBOX")
    RC_TOKEN=$(printf '%s' "$page" | sed -n 's/.*"request_token":"\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$RC_TOKEN" ] || { cat "$rc/logs/"* >&2 2>/dev/null; echo "bench: the Roundcube login as $user failed" >&2; exit 1; }
}

roundcube_stop() {
    local pid
    pid=$(cat "$dir/roundcube/lighttpd.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    rm -f "$dir/roundcube/lighttpd.pid"
}

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }
