"""The one error type every adapter raises, so the worker handles HubSpot and Slack alike."""
from __future__ import annotations


class IntegrationError(Exception):
    """A call to an outside service failed.

    permanent:   retrying the same call cannot succeed (bad request, revoked token, 404).
    retry_after: seconds the service asked us to wait (429 Retry-After), if it said.
    status:      the HTTP status, when there was one.
    """

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status

    def __repr__(self) -> str:
        return (f"IntegrationError({self.message!r}, permanent={self.permanent}, "
                f"retry_after={self.retry_after}, status={self.status})")
