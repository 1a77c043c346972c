"""Bolt must not log secrets: its loggers get perfbot's filter and log warnings and up."""

import logging

from pydantic import SecretStr

from bot.chat.slack import RedactSecrets, bolt_logger
from bot.config import SlackSettings


def test_filter_masks_secrets_tokens_and_form_fields() -> None:
    f = RedactSecrets(["s3cr3t-signing"])
    record = logging.LogRecord(
        "slack_bolt.X",
        logging.INFO,
        __file__,
        1,
        "Invalid request signature detected (signature: %s, body: %s) key %s xapp-1-A0-9f",
        ("v0=abc", "token=legacy123&text=hi&response_url=https%3A%2F%2Fhooks", "s3cr3t-signing"),
        None,
    )
    assert f.filter(record)
    assert record.getMessage() == (
        "Invalid request signature detected (signature: v0=abc, body: token=***&text=hi"
        "&response_url=***) key *** ***"
    )


def test_bolt_logger_is_quiet_and_filtered() -> None:
    log = bolt_logger(
        SlackSettings(bot_token=SecretStr("xoxb-1"), signing_secret=SecretStr("sign"))
    )
    assert log.level == logging.WARNING
    assert any(isinstance(f, RedactSecrets) for f in log.filters)
