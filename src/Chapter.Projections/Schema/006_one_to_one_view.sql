-- One-to-ones as members and integrations list them, kept inline with their events (read-your-writes).
CREATE TABLE one_to_one_view (
    id          uuid        PRIMARY KEY,
    chapter_id  text        NOT NULL,
    member_a    uuid        NOT NULL,
    member_b    uuid        NOT NULL,
    held_on     date        NOT NULL,
    note        text,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX one_to_one_view_chapter ON one_to_one_view (chapter_id, held_on DESC, id);
