-- Greylisting (manual 003: per mailbox, only where the domain enables it),
-- decided by `ersctl policyd` at RCPT for mail that arrives unauthenticated
-- (port 25): the first attempt of a client network, sender and recipient
-- is answered 4xx; a retry after mailstack.greylist_delay seconds passes,
-- and the triplet passes at once for 36 days after.
--
-- The setting of a domain (off unless said) and of a mailbox (NULL: as its
-- domain says; off turns it off for that mailbox alone; on counts only
-- where the domain has it on).
CREATE TABLE ers.spam_setting (
    id          bigserial PRIMARY KEY,
    domain_id   bigint UNIQUE REFERENCES ers.domain (id) ON DELETE CASCADE,
    mailbox_id  bigint UNIQUE REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    greylisting boolean,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL,
    CHECK ((domain_id IS NULL) <> (mailbox_id IS NULL))
);

-- Allowed senders (manual 002 "Whitelist"): an address or a whole domain
-- whose mail to the domain or mailbox is never greylisted.
CREATE TABLE ers.spam_allow (
    id          bigserial PRIMARY KEY,
    domain_id   bigint REFERENCES ers.domain (id) ON DELETE CASCADE,
    mailbox_id  bigint REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    entry       text NOT NULL CHECK (entry = lower(entry) AND length(entry) BETWEEN 1 AND 320),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    CHECK ((domain_id IS NULL) <> (mailbox_id IS NULL)),
    UNIQUE NULLS NOT DISTINCT (domain_id, mailbox_id, entry)
);

CREATE TABLE ers.greylist (
    client_net  text NOT NULL,
    sender      text NOT NULL,
    recipient   text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    passed_at   timestamptz,
    last_seen   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_net, sender, recipient)
);
