"""Chat front ends: Slack (Bolt, HTTP and Socket Mode), Mattermost (slash command and button
endpoints) and the local console. Each turns what a user typed or clicked into a `/perf`
command for the `Commands` service it is given (`bot.commands`) and renders the `Reply` for
its platform; `bot.app` builds that service and mounts the front ends."""
