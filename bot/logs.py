"""Logging for every process: one line per unit of work, with secrets redacted wherever they appear."""
from __future__ import annotations

import logging
import re
import sys
from typing import Iterable

TOKEN_PATTERN = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|pat-[a-z0-9]{2,4}-[A-Za-z0-9-]+)")


class RedactSecrets(logging.Filter):
    """Replaces known secret values and anything shaped like a Slack or HubSpot token."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_PATTERN.sub("[redacted]", message)
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(secrets: Iterable[str], level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # A line per sweep every second drowns the lines that matter; APScheduler's warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
