-- What Marten's progression table does not say about an async projection: the event it stopped at, and a
-- rebuild under way. Marten keeps the position (mt_event_progression); this keeps our rules around it.
CREATE TABLE projection_state (
    name              text        PRIMARY KEY,
    failed_seq        bigint,
    error             text,
    rebuild_requested boolean     NOT NULL DEFAULT false,
    rebuild_error     text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
