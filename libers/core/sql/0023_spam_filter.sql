-- The spam filter (issue 20; manual 002 "Spam Settings", manual 003: per
-- mailbox, only where the domain enables it): rspamd scores mail arriving
-- on port 25 and `ersctl spam milter` decides per recipient from these
-- columns at each message, so a change counts at the next message.
--
-- A domain's setting (filter off unless said, threshold 5, action junk);
-- a mailbox's (NULL: as its domain says; counts only where the domain has
-- the filter on).
ALTER TABLE ers.spam_setting
    ADD COLUMN filter    boolean,
    ADD COLUMN threshold numeric(6,2) CHECK (threshold BETWEEN 1 AND 100),
    ADD COLUMN action    text CHECK (action IN ('mark', 'junk', 'reject'));

-- Blocked senders (manual 002 "Blacklist"): an address or a whole domain
-- whose mail to the domain or mailbox is treated as spam whatever its score.
CREATE TABLE ers.spam_block (
    id          bigserial PRIMARY KEY,
    domain_id   bigint REFERENCES ers.domain (id) ON DELETE CASCADE,
    mailbox_id  bigint REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    entry       text NOT NULL CHECK (entry = lower(entry) AND length(entry) BETWEEN 1 AND 320),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    CHECK ((domain_id IS NULL) <> (mailbox_id IS NULL)),
    UNIQUE NULLS NOT DISTINCT (domain_id, mailbox_id, entry)
);
