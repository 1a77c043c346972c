"""Chat front ends: Slack (Bolt), Mattermost and the console. Each receives `/perf` commands
and button clicks, runs them through the one command registry, and renders the `Reply`."""
