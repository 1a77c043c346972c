"""Stand-ins for the services perfbot talks to, all on 127.0.0.1 and speaking the real wire
formats (see shared/reference/chat-protocols.md): `SlackFake` (Web API, uploads, response
URLs), `MattermostFake` (REST v4, button clicks), `PagerDutyFake` (Events API v2),
`WebhookReceiver`, and `SmtpServer` (a real aiosmtpd server). Pytest fixtures for them are in
`tests.fakes.fixtures`."""
