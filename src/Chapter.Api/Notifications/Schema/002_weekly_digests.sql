-- The weeks whose digest has been handed to the outbox, one row per chapter and ISO week, so that however many nodes
-- look, each week's digest is queued once (the row and the message commit together).
CREATE TABLE weekly_digests (
    chapter_id text        NOT NULL,
    iso_week   text        NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chapter_id, iso_week)
);
