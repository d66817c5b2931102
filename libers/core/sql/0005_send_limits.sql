-- Send limits (manual 002 "Email Rate Limiting", manual 003 "Number of
-- mails sent per hour") and the counters the policy service keeps.
--
-- A limit is a number of emails per clock hour, 0..10000000, or NULL:
-- inherit from the next level up (mailbox -> domain -> tenant -> server),
-- unlimited when no level sets it.  Three limits apply to every message an
-- authenticated mailbox sends: its per-mailbox limit, its domain's
-- per-domain limit and its tenant's total; each recipient counts as one
-- email.  A per-mailbox limit of 0 or 1 means the mailbox cannot send at
-- all (manual 003).
ALTER TABLE ers.tenant
    ADD COLUMN send_per_mailbox bigint CHECK (send_per_mailbox BETWEEN 0 AND 10000000),
    ADD COLUMN send_per_domain  bigint CHECK (send_per_domain BETWEEN 0 AND 10000000),
    ADD COLUMN send_total       bigint CHECK (send_total BETWEEN 0 AND 10000000);

ALTER TABLE ers.domain
    ADD COLUMN send_per_mailbox bigint CHECK (send_per_mailbox BETWEEN 0 AND 10000000),
    ADD COLUMN send_per_domain  bigint CHECK (send_per_domain BETWEEN 0 AND 10000000);

ALTER TABLE ers.mailbox
    ADD COLUMN send_per_hour bigint CHECK (send_per_hour BETWEEN 0 AND 10000000);

-- The server's defaults: exactly one row.
CREATE TABLE ers.send_limit_default (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    per_mailbox bigint CHECK (per_mailbox BETWEEN 0 AND 10000000),
    per_domain  bigint CHECK (per_domain BETWEEN 0 AND 10000000),
    total       bigint CHECK (total BETWEEN 0 AND 10000000),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ers.send_limit_default DEFAULT VALUES;

-- Emails sent per clock hour (UTC) by a mailbox, a domain or a tenant.  The
-- policy service checks and increments a row in one statement per scope
-- (INSERT ... ON CONFLICT DO UPDATE ... WHERE count + n <= limit), all three
-- in one transaction, mailbox before domain before tenant; it deletes the
-- hours gone by.  No foreign keys: a row outlives its mailbox by at most an
-- hour, and a send never waits on a lock of the mailbox or tenant tables.
-- The key leads with the hour, so the purge reads the index in order.
CREATE TABLE ers.send_count (
    hour     timestamptz NOT NULL,
    scope    text NOT NULL CHECK (scope IN ('mailbox', 'domain', 'tenant')),
    scope_id bigint NOT NULL,
    count    bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (hour, scope, scope_id)
) WITH (fillfactor = 70); -- room on the page for HOT updates of count
