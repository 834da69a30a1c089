-- Visitors and their follow-up, inline with their events. Name and contact details stay sealed (their key is in
-- prospect_keys under the visitor's id); destroying the key erases them from every copy.
CREATE TABLE visitor_view (
    id             uuid        PRIMARY KEY,
    chapter_id     text        NOT NULL,
    sealed_details text        NOT NULL,
    profession     text        NOT NULL,
    invited_by     uuid        NOT NULL,
    meeting_id     uuid,
    consent        boolean     NOT NULL,
    registered_at  timestamptz NOT NULL,
    steps          jsonb       NOT NULL DEFAULT '[]',
    member_id      uuid,
    version        bigint      NOT NULL
);
CREATE INDEX visitor_view_chapter ON visitor_view (chapter_id, registered_at DESC);
