-- A prospect's contact details live in events and read models only sealed with their referral's key.
-- Erasing destroys the key and keeps a tombstone, so a retried give can never make a new key for the referral.
CREATE TABLE prospect_keys (
    referral_id uuid        PRIMARY KEY,
    chapter_id  text        NOT NULL,
    key         bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);

ALTER TABLE referral_view
    DROP COLUMN prospect,
    ADD COLUMN prospect_consent   boolean NOT NULL DEFAULT true,
    ADD COLUMN prospect_sealed    text,
    ADD COLUMN prospect_erased_at timestamptz;

ALTER TABLE member_view ADD COLUMN role text NOT NULL DEFAULT 'member';
