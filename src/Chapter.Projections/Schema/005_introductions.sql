-- When the giver had the service introduce the prospect and the receiver to each other (at most once per referral).
ALTER TABLE referral_view ADD COLUMN introduced_at timestamptz;
