-- What each member wants to hear about, and where. A member's e-mail address is personal data and a setting, not a
-- domain fact, so it lives here rather than in the log, and is gone for good when changed or cleared.
-- turn_off_key is the secret in every e-mail's "turn this off" link: it only turns notifications off.
CREATE TABLE notification_settings (
    chapter_id        text        NOT NULL,
    member_id         uuid        NOT NULL,
    email             text,
    referral_received boolean     NOT NULL DEFAULT true,
    referral_updates  boolean     NOT NULL DEFAULT true,
    weekly_digest     boolean     NOT NULL DEFAULT true,
    turn_off_key      text        NOT NULL UNIQUE,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chapter_id, member_id)
);
