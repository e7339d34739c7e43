"""Failed authentication, throttled per client address.

Every secret the API accepts (a staff key, a cabinet login token, a cabinet link, an
invitation) is 256 random bits, so guessing one is hopeless; the throttle keeps a
scanner or a misconfigured script from turning that hopelessness into load, and makes
any guessing visibly slow. An address that failed ``FAILURES`` times within the last
``WINDOW`` seconds gets 429 ``too_many_failures`` with ``Retry-After`` (the seconds until
its oldest failure in the window expires) on every route that takes a secret, before
the secret is even looked at: a throttled address can tell a right secret from a wrong
one no better than it can guess one. Other addresses are not affected; a request with no
secret at all is no failure.

The count is kept in memory by each server process (the ``limits`` library's moving
window), so ``serve --workers N`` allows up to N times ``FAILURES``. The address is the
connection's peer; behind a reverse proxy, uvicorn's ``--forwarded-allow-ips`` makes it
the client's (``X-Forwarded-For``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from classledger.http.errors import ApiError

FAILURES = 20
WINDOW = 60  # seconds


class AuthThrottle:
    def __init__(self, failures: int = FAILURES, window: int = WINDOW) -> None:
        self.item = RateLimitItemPerSecond(failures, window)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, request: Request) -> None:
        """Refuse (429) an address whose failures in the window used up the allowance."""
        address = client_address(request)
        if self.limiter.test(self.item, address):
            return
        reset = self.limiter.get_window_stats(self.item, address).reset_time
        seconds = max(1, math.ceil(reset - time.time()))
        raise ApiError(
            429, "too_many_failures",
            f"too many failed attempts from your address; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds, limit=self.item.amount, window_seconds=self.item.get_expiry(),
        )

    def failed(self, request: Request) -> None:
        """Count one wrong secret from this request's address."""
        self.limiter.hit(self.item, client_address(request))


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def throttle_of(request: Request) -> AuthThrottle:
    """The app's throttle (``create_app`` puts it in the app's state)."""
    throttle = getattr(request.app.state, "auth_throttle", None)
    if not isinstance(throttle, AuthThrottle):
        throttle = request.app.state.auth_throttle = AuthThrottle()
    return throttle
