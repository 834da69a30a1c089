-- Where each async projection stands. The cursor is (last_tx, last_seq): events are applied in the order
-- of their transaction ids, and only once no older transaction can still commit (see ProjectionDaemon).
CREATE TABLE projection_progress (
    name              text        PRIMARY KEY,
    last_tx           xid8        NOT NULL DEFAULT '0',
    last_seq          bigint      NOT NULL DEFAULT 0,
    -- Events are applied in transaction order, so the highest sequence applied is kept apart from the cursor.
    max_seq           bigint      NOT NULL DEFAULT 0,
    applied_events    bigint      NOT NULL DEFAULT 0,
    skipped_unknown   bigint      NOT NULL DEFAULT 0,
    state             text        NOT NULL DEFAULT 'running',
    error             text,
    error_seq         bigint,
    leader            text,
    rebuild_requested boolean     NOT NULL DEFAULT false,
    rebuild_error     text,
    -- Hash of the DDL the live tables were built with: new code with other tables rebuilds them.
    schema_hash       text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
