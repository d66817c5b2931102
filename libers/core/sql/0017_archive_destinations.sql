-- Remote archive destinations (issue 16): where a tenant's archives may be
-- uploaded with libcurl -- SFTP or WebDAV over HTTPS -- the credential
-- (a password or an SSH private key) sealed under the master key like
-- the other secrets.  An archive records where it went and the URL it was
-- read back from.
CREATE TABLE ers.archive_destination (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$' AND name <> 'local'),
    kind          text NOT NULL CHECK (kind IN ('sftp', 'webdav')),
    url           text NOT NULL,                 -- a directory: ends with '/'
    username      text NOT NULL,
    secret_sealed text NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    host_key      text,                          -- sftp: the server's host key, SHA-256 in base64
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

ALTER TABLE ers.archive
    ADD COLUMN destination text NOT NULL DEFAULT 'local',
    ADD COLUMN remote_url  text;

-- One mbox per folder (a zip of FOLDER.mbox files), beside one mbox and
-- zipped .eml files.
ALTER TABLE ers.archive DROP CONSTRAINT archive_format_check,
    ADD CONSTRAINT archive_format_check CHECK (format IN ('mbox', 'mbox-folders', 'zip'));
ALTER TABLE ers.archive_policy DROP CONSTRAINT archive_policy_format_check,
    ADD CONSTRAINT archive_policy_format_check CHECK (format IN ('mbox', 'mbox-folders', 'zip'));

-- Users' own archive preferences (manual 000 "How Users Open Archives"):
-- format, destination type, cutoff and personal auto-archive, within what
-- the tenant allows (archive_policy.personal_auto_archive).
ALTER TABLE ers.archive_policy ADD COLUMN personal_auto_archive boolean NOT NULL DEFAULT true;
CREATE TABLE ers.archive_preference (
    mailbox_id      bigint PRIMARY KEY REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    format          text CHECK (format IN ('mbox', 'mbox-folders', 'zip')),  -- NULL: the tenant's
    destination     text NOT NULL DEFAULT 'local',
    older_than_days integer CHECK (older_than_days BETWEEN 0 AND 36500),    -- NULL: the tenant's
    auto_archive    boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
