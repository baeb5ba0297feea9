"""An asyncio event loop on a virtual clock, for tests of open-loop timing: exact counts and
times that do not depend on how busy the machine is."""

import asyncio
import selectors


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock starts at 0 and, when nothing is ready, jumps to the next
    timer instead of waiting for it. `stall(s)` moves it on as a blocking call would."""

    def __init__(self) -> None:
        self.now = 0.0
        loop = self

        class Jump(selectors.DefaultSelector):
            def select(self, timeout=None):
                events = super().select(0)
                if not events and timeout:
                    loop.now += timeout
                return events

        super().__init__(Jump())

    def time(self) -> float:
        return self.now

    def stall(self, seconds: float) -> None:
        self.now += seconds
