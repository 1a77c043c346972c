"""Pure routing and alert-lifecycle decisions: rules, matching, fingerprints, de-duplication,
escalation timing, silences and backoff. Data and `now` go in, values come out; no I/O."""
