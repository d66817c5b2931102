-- IMAP migrations (manual 002 "IMAP Migration", `ersctl migrate`): one row
-- per job.  The source password is sealed (libers/core seal.c, context
-- "migrate-password:ID") while the job may still run, and set to NULL when
-- it ends, is cancelled or fails.  `report` is the per-folder report the
-- worker rewrites after each folder: [{"folder", "to", "found",
-- "found_bytes", "copied", "copied_bytes", "skipped", "failed", "error"}].
CREATE TABLE ers.migration (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES ers.tenant (id) ON DELETE CASCADE,
    mailbox_id       bigint NOT NULL REFERENCES ers.mailbox (id) ON DELETE CASCADE,
    source_host      text NOT NULL,
    source_port      integer NOT NULL CHECK (source_port BETWEEN 1 AND 65535),
    source_tls       text NOT NULL CHECK (source_tls IN ('implicit', 'starttls', 'none')),
    source_user      text NOT NULL,
    source_password  text,
    folders          text[],
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    worker_pid       integer,
    error            text,
    report           jsonb NOT NULL DEFAULT '[]',
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    CHECK (state IN ('queued', 'running') OR source_password IS NULL)
);
CREATE INDEX migration_mailbox ON ers.migration (mailbox_id, id);
-- One job at a time per mailbox: two would copy the same messages twice.
CREATE UNIQUE INDEX migration_one_active ON ers.migration (mailbox_id) WHERE state IN ('queued', 'running');
