-- Retention (issue 14), with the indexes of 0006.
-- The audit trail stays append-only, except that retention may delete the events of an alert
-- it deletes (resolved, past perfbot.retention.alerts) or unlinked events past it: the cleanup
-- job sets `perfbot.retention = 'on'` for its own transaction only (SET LOCAL). Updates are
-- always refused.
CREATE OR REPLACE FUNCTION perfbot.alert_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('perfbot.retention', true) = 'on'
       AND NOT EXISTS (SELECT 1 FROM perfbot.alerts a
                        WHERE a.id = OLD.alert_id AND a.status <> 'resolved') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'perfbot.alert_events is append-only (% refused)', TG_OP;
END
$$;
