-- The chapter's weekly meetings and each member's attendance (PALMS), inline with their events. A substitute's name is
-- kept sealed, as a prospect's, with a key in prospect_keys (one per meeting and member): destroying it erases the name.
CREATE TABLE meeting_view (
    id         uuid        PRIMARY KEY,
    chapter_id text        NOT NULL,
    held_on    date        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at  timestamptz NOT NULL,
    closed_at  timestamptz,
    version    bigint      NOT NULL
);
CREATE UNIQUE INDEX meeting_view_chapter_day ON meeting_view (chapter_id, held_on);

CREATE TABLE meeting_attendance (
    meeting_id            uuid        NOT NULL REFERENCES meeting_view (id),
    member_id             uuid        NOT NULL,
    status                text        NOT NULL CHECK (status IN ('present', 'absent', 'late', 'medical', 'substitute')),
    substitute_sealed     text,
    substitute_profession text,
    corrections           int         NOT NULL DEFAULT 0,
    marked_at             timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, member_id)
);
