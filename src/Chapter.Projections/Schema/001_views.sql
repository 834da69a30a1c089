-- Inline read models: updated in the append transaction, so they are never behind the events.
CREATE TABLE chapter_view (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    time_zone   text        NOT NULL,
    currency    text        NOT NULL,
    tie_half_life_days int  NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE member_view (
    id          uuid        PRIMARY KEY,
    chapter_id  text        NOT NULL,
    name        text        NOT NULL,
    profession  text        NOT NULL,
    languages   text[]      NOT NULL,
    status      text        NOT NULL,
    joined_at   timestamptz NOT NULL,
    left_at     timestamptz,
    version     bigint      NOT NULL
);
CREATE INDEX member_view_chapter ON member_view (chapter_id, joined_at);

CREATE TABLE referral_view (
    id              uuid        PRIMARY KEY,
    chapter_id      text        NOT NULL,
    giver_id        uuid        NOT NULL,
    receiver_id     uuid        NOT NULL,
    status          text        NOT NULL,
    need            text        NOT NULL,
    temperature     text        NOT NULL,
    language        text        NOT NULL,
    prospect        jsonb       NOT NULL,
    outcome         text,
    value_amount    numeric,
    value_currency  text,
    decline_reason  text,
    thank_note      text,
    given_at        timestamptz NOT NULL,
    accepted_at     timestamptz,
    declined_at     timestamptz,
    closed_at       timestamptz,
    thanked_at      timestamptz,
    version         bigint      NOT NULL
);
CREATE INDEX referral_view_chapter ON referral_view (chapter_id, given_at DESC);
CREATE INDEX referral_view_giver ON referral_view (giver_id);
CREATE INDEX referral_view_receiver ON referral_view (receiver_id);
