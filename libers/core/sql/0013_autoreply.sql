-- Autoresponders (manual 002 "Autoresponder"): one per mailbox, answered by
-- Dovecot's Sieve vacation extension (RFC 5230) at delivery.  Dovecot reads
-- the script through a dict over the two views below (sieve_before, dict
-- storage), so a change made by ersctl or the webmail takes effect at the
-- next delivery on every mail node, with no file written and no reload.

-- The tenant's time zone: the autoresponder's start and end dates are days
-- there.  Checked against PostgreSQL's zone names.
ALTER TABLE ers.tenant ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

CREATE TABLE ers.autoreply (
    mailbox_id    bigint PRIMARY KEY REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    tenant_id     bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    enabled       boolean NOT NULL,
    subject       text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200 AND subject !~ '[\r\n]'),
    message       text NOT NULL CHECK (octet_length(message) BETWEEN 1 AND 65536),
    starts_on     date,
    ends_on       date CHECK (starts_on IS NULL OR ends_on IS NULL OR ends_on >= starts_on),
    interval_days integer NOT NULL DEFAULT 1 CHECK (interval_days BETWEEN 1 AND 365),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    text NOT NULL
);
CREATE INDEX autoreply_tenant ON ers.autoreply (tenant_id);

-- A Sieve quoted string (RFC 5228 2.4.2): backslash and double quote escaped.
CREATE FUNCTION ers_mail.sieve_quote(s text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog
    RETURN '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"';

-- The vacation script of each mailbox whose autoresponder is on today (in
-- its tenant's time zone).  Its aliases count as its addresses, so mail to
-- an alias is answered and mail from one is not.
CREATE VIEW ers_mail.autoreply_scripts AS
    SELECT m.address AS username,
           'require ["vacation"];' || E'\n' ||
           'vacation :days ' || r.interval_days ||
           ' :subject ' || ers_mail.sieve_quote(r.subject) ||
           ' :addresses [' || (SELECT string_agg(ers_mail.sieve_quote(x.address), ', ' ORDER BY x.address)
                               FROM (SELECT m.address UNION ALL
                                     SELECT a.address FROM ers.alias a WHERE a.mailbox_id = m.id) x) || ']' ||
           E'\n  ' || ers_mail.sieve_quote(r.message) || ';' || E'\n' AS script
    FROM ers.autoreply r
    JOIN ers.mailbox m ON m.id = r.mailbox_id
    JOIN ers.tenant t ON t.id = r.tenant_id
    WHERE r.enabled AND m.status = 'active'
      AND (r.starts_on IS NULL OR r.starts_on <= (now() AT TIME ZONE t.time_zone)::date)
      AND (r.ends_on IS NULL OR r.ends_on >= (now() AT TIME ZONE t.time_zone)::date);

-- Pigeonhole's dict storage: priv/sieve/name/NAME gives a script id,
-- priv/sieve/data/ID its text.  The id is the text's digest, so a changed
-- script is compiled again and an unchanged one is not.
CREATE VIEW ers_mail.sieve_names AS
    SELECT username, 'ers-autoreply'::text AS name, md5(script) AS id
    FROM ers_mail.autoreply_scripts;

CREATE VIEW ers_mail.sieve_data AS
    SELECT username, md5(script) AS id, script
    FROM ers_mail.autoreply_scripts;
