-- The channels that already hold an alert's message; lifecycle notices (acknowledged,
-- resolved, …) go to exactly these.
ALTER TABLE perfbot.alerts ADD COLUMN notified_channels text[] NOT NULL DEFAULT '{}';
