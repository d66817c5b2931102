-- Shared mailboxes (manual 004 "Public mailboxes"; issue 21): an address of
-- a tenant with a mailbox and no login of its own, whose folders chosen
-- users of the same tenant see under Shared/ADDRESS/ with rights.  The row
-- is an ers.mailbox of kind 'shared', so delivery, aliases, quota and the
-- purge of its mail work as for any mailbox; Dovecot's passdb gives it no
-- password, so nobody logs in as it (the master user still can, which is
-- how ERS sets its ACLs).  ers.shared_grant is the record of who may do
-- what; Dovecot's ACL files in the mailbox's folders mirror it, written
-- over IMAP (SETACL) by the same operation.
ALTER TABLE ers.mailbox ADD COLUMN kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'shared'));
ALTER TABLE ers.mailbox ADD CHECK (kind = 'user' OR role = 'user');

CREATE TABLE ers.shared_grant (
    shared_id  bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    rights     text[] NOT NULL CHECK (rights <@ ARRAY['read', 'write', 'post', 'admin']::text[] AND cardinality(rights) > 0),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shared_id, user_id),
    CHECK (shared_id <> user_id)
);
CREATE INDEX shared_grant_user ON ers.shared_grant (user_id);

CREATE OR REPLACE VIEW ers_mail.passdb AS
    SELECT m.address AS username,
           CASE WHEN m.kind = 'user' THEN m.password_hash END AS password, t.pop3
    FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id
    WHERE m.status = 'active';
