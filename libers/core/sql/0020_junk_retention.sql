-- Junk retention (manual 004 "move spam to Junk"): messages in a mailbox's
-- Junk folder received more than this many days ago are expunged by
-- `ersctl mailstack purge` (run from cron).  0 keeps Junk as it is.
ALTER TABLE ers.tenant ADD COLUMN junk_retention_days integer NOT NULL DEFAULT 30
    CHECK (junk_retention_days BETWEEN 0 AND 3650);
