-- The interface the mail servers read: stable views in schema ers_mail that
-- Postfix's pgsql maps and Dovecot's SQL passdb/userdb query, so that a
-- change made by ersctl takes effect on every mail node at once.  The mail
-- role (ers.yaml mailstack.db_user) is granted SELECT on these views and
-- nothing else (`ersctl mailstack grant`); a view runs with its owner's
-- rights, so the role never needs the ers tables.
CREATE SCHEMA ers_mail;

-- Domains Postfix accepts mail for (virtual_mailbox_domains).
CREATE VIEW ers_mail.domains AS
    SELECT d.name AS domain, d.tenant_id
    FROM ers.domain d;

-- Every mailbox, active or not, with where its mail lives: MAIL_ROOT/
-- mail_path.  The path is built from ids, never from the address, so that
-- no address can reach outside its directory and a re-created address never
-- sees an old mailbox's mail.  quota_bytes is NULL for no limit (0 MB means
-- unlimited, manual 002).
CREATE VIEW ers_mail.mailboxes AS
    SELECT m.address, m.tenant_id, m.id AS mailbox_id,
           m.tenant_id::text || '/' || m.id::text AS mail_path,
           CASE WHEN m.quota_mb > 0 THEN m.quota_mb * 1048576 END AS quota_bytes,
           m.status = 'active' AS enabled
    FROM ers.mailbox m;

-- Dovecot's passdb and userdb: active mailboxes only, so a disabled or
-- deleted user can neither log in nor receive over LMTP.
CREATE VIEW ers_mail.passdb AS
    SELECT m.address AS username, m.password_hash AS password
    FROM ers.mailbox m
    WHERE m.status = 'active';

CREATE VIEW ers_mail.userdb AS
    SELECT address AS username, mail_path, quota_bytes
    FROM ers_mail.mailboxes
    WHERE enabled;

-- virtual_alias_maps: one row per (address, destination).  Every mailbox
-- maps to itself unless a forward without keep-copy replaces it -- that
-- self-mapping is what keeps a domain's catch-all ('@domain', looked up
-- last by Postfix) from swallowing mail for existing mailboxes.
CREATE VIEW ers_mail.aliases AS
    SELECT m.address, m.address AS destination
    FROM ers.mailbox m
    WHERE NOT EXISTS (SELECT 1 FROM ers.forward f WHERE f.source = m.address AND NOT f.keep_copy)
    UNION ALL
    SELECT a.address, m.address
    FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id
    UNION ALL
    SELECT f.source, d.destination
    FROM ers.forward f CROSS JOIN LATERAL unnest(f.destinations) AS d(destination);

-- Postfix sends each lookup as a fresh, unprepared query, so planning the
-- union above costs more than running it (2.7x a one-table lookup, in
-- test/bench).  These functions answer the two union lookups with plans
-- cached for the session; they run as the views' owner, like the views.
CREATE FUNCTION ers_mail.alias_destinations(key text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY SELECT a.destination FROM ers_mail.aliases a WHERE a.address = key;
END
$$;

-- check_recipient_access: a disabled mailbox and its aliases are refused at
-- RCPT, also inside a catch-all domain (manual 003).
CREATE VIEW ers_mail.disabled_recipients AS
    SELECT m.address
    FROM ers.mailbox m
    WHERE m.status = 'disabled'
    UNION ALL
    SELECT a.address
    FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id
    WHERE m.status = 'disabled';

CREATE FUNCTION ers_mail.disabled_recipient(key text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY SELECT d.address FROM ers_mail.disabled_recipients d WHERE d.address = key;
END
$$;
REVOKE EXECUTE ON FUNCTION ers_mail.alias_destinations(text), ers_mail.disabled_recipient(text) FROM PUBLIC;

-- recipient_bcc_maps: the hidden copy of a domain's inbound mail, keyed the
-- way Postfix looks it up ('@domain').
CREATE VIEW ers_mail.recipient_bcc AS
    SELECT '@' || d.name AS key, d.copy_inbound_to AS address
    FROM ers.domain d
    WHERE d.copy_inbound_to IS NOT NULL;

-- smtpd_sender_login_maps: which login may use which sender address -- a
-- mailbox its own address and its aliases'.
CREATE VIEW ers_mail.sender_logins AS
    SELECT m.address, m.address AS login
    FROM ers.mailbox m
    UNION ALL
    SELECT a.address, m.address
    FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id;

-- Quota usage flows back from Dovecot (quota_clone into a dict on this
-- table, through its own role, mailstack.quota_db_user), so that
-- `ersctl user list` shows used / max.  Dovecot's dict writes a key with an
-- INSERT; the trigger turns the second and later ones into updates.
CREATE SCHEMA ers_quota;
CREATE TABLE ers_quota.usage (
    username   text PRIMARY KEY,
    bytes      bigint NOT NULL DEFAULT 0,
    messages   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION ers_quota.merge_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ers_quota.usage
       SET bytes = coalesce(NEW.bytes, bytes), messages = coalesce(NEW.messages, messages),
           updated_at = now()
     WHERE username = NEW.username;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    NEW.bytes := coalesce(NEW.bytes, 0);
    NEW.messages := coalesce(NEW.messages, 0);
    RETURN NEW;
END
$$;
CREATE TRIGGER usage_merge BEFORE INSERT ON ers_quota.usage
    FOR EACH ROW EXECUTE FUNCTION ers_quota.merge_usage();

-- A deleted mailbox's (or tenant's) mail is removed once it can no longer be
-- routed: the delete commits, then the directory named here is removed by
-- ersctl on a mail node (at once when MAIL_ROOT is local, else by
-- `ersctl mailstack purge` from cron).  Triggers record it in the deleting
-- transaction, so a cascade from a tenant delete is covered too.
CREATE TABLE ers.mail_purge (
    id           bigserial PRIMARY KEY,
    mail_path    text NOT NULL CHECK (mail_path ~ '^[0-9]+(/[0-9]+)?$'),
    address      text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);
CREATE INDEX mail_purge_pending ON ers.mail_purge (id) WHERE done_at IS NULL;

CREATE FUNCTION ers.record_mailbox_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ers.mail_purge (mail_path, address)
    VALUES (OLD.tenant_id::text || '/' || OLD.id::text, OLD.address);
    DELETE FROM ers_quota.usage WHERE username = OLD.address;
    RETURN OLD;
END
$$;
CREATE TRIGGER mailbox_purge AFTER DELETE ON ers.mailbox
    FOR EACH ROW EXECUTE FUNCTION ers.record_mailbox_purge();

CREATE FUNCTION ers.record_tenant_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ers.mail_purge (mail_path, address) VALUES (OLD.id::text, NULL);
    RETURN OLD;
END
$$;
CREATE TRIGGER tenant_purge AFTER DELETE ON ers.tenant
    FOR EACH ROW EXECUTE FUNCTION ers.record_tenant_purge();
