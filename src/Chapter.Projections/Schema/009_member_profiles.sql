-- Each member's profile as it is now (the events keep every earlier one), inline with their stream.
CREATE TABLE member_profile_view (
    member_id       uuid        PRIMARY KEY,
    chapter_id      text        NOT NULL,
    ask             text,
    ideal_referral  text,
    goals           text,
    accomplishments text,
    interests       text,
    networks        text,
    skills          text,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX member_profile_view_asks ON member_profile_view (chapter_id, changed_at DESC) WHERE ask IS NOT NULL;
