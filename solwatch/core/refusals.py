"""What solwatch says when it will not record a request staff made (pure)."""

from __future__ import annotations


class Refused(ValueError):
    """A request that is not recorded (an acknowledgement, a status correction); `field`
    names the value at fault and `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
