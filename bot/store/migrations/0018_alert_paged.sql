-- People an escalation step paged (`oncall:<schedule>` or `person:<id>`), frozen into the alert
-- when the step ran: [{"person", "name", "schedule", "at", "step"}, ...]. The card shows them.
ALTER TABLE perfbot.alerts ADD COLUMN paged jsonb NOT NULL DEFAULT '[]'::jsonb;
