"""Small hand-made case histories for the scoring tests, driven through `cases.services`.

`Story` runs one case from receipt through the real transitions at chosen times (hours after
the start), so every timeline event, deadline and callback is what production would write.
"""

from __future__ import annotations

import datetime as dt

from civicgrid.cases import intake, services
from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    Kind,
    ReturnReason,
    Satisfaction,
    Solved,
)
from civicgrid.cases.models import Case
from civicgrid.core import clock

# Monday 2026-03-02 09:00 local time: the stories' months are March (and February before it).
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC) - dt.timedelta(hours=8)


class Story:
    """One case and the actors who move it. `at` is hours after `START` (or `start`)."""

    def __init__(
        self,
        town,
        dispatcher,
        *,
        grid: str = "A1-1",
        channel: str = Channel.HOTLINE,
        kind: str = Kind.COMPLAINT,
        category=None,
        start: dt.datetime = START,
    ):
        self.town = town
        self.dispatcher = dispatcher
        self.start = start
        area = town.grids[grid]
        lat, lon = town.centre(area)
        with clock.frozen(start):
            self.case = intake.receive_case(
                actor=dispatcher,
                channel=channel,
                kind=kind,
                title="路灯不亮",
                description="小区门口的路灯坏了三天。",
                category=category,
                lat=lat,
                lon=lon,
                reporter_name="王女士",
                reporter_phone="13800000000",
            )

    @staticmethod
    def later(hours: float) -> dt.datetime:
        """`hours` after START."""
        return START + dt.timedelta(hours=hours)

    def _at(self, hours: float):
        return clock.frozen(self.start + dt.timedelta(hours=hours))

    def refresh(self) -> Case:
        self.case.refresh_from_db()
        return self.case

    def dispatch(self, unit, at: float = 0.1, co_units=()):
        with self._at(at):
            services.dispatch_case(self.refresh(), unit, actor=self.dispatcher, co_units=co_units)
        return self

    def accept(self, handler, at: float):
        with self._at(at):
            services.accept_case(self.refresh(), actor=handler)
        return self

    def give_back(self, handler, at: float):
        with self._at(at):
            services.return_case(
                self.refresh(),
                actor=handler,
                reason_code=ReturnReason.WRONG_AREA,
                reason="不在辖区",
            )
        return self

    def rule(self, unit, at: float):
        with self._at(at):
            services.rule_on_return(self.refresh(), unit, actor=self.dispatcher, note="职责清单")
        return self

    def co_reply(self, handler, at: float):
        with self._at(at):
            services.co_handler_reply(self.refresh(), actor=handler, reply="已配合处理")
        return self

    def resolve(self, handler, at: float):
        with self._at(at):
            services.resolve_case(self.refresh(), actor=handler, reply="已修复")
        return self

    def callback(self, at: float, solved=Solved.SOLVED, satisfaction=Satisfaction.SATISFIED):
        with self._at(at):
            services.record_callback(
                self.refresh(),
                actor=self.dispatcher,
                method=CallbackMethod.PHONE,
                contacted=True,
                solved=solved,
                satisfaction=satisfaction,
            )
        return self

    def close(self, at: float):
        with self._at(at):
            services.close_case(self.refresh(), actor=self.dispatcher)
        return self

    def invalidate(self, at: float):
        with self._at(at):
            services.invalidate_case(
                self.refresh(), actor=self.dispatcher, reason="重复恶意诉求经审核"
            )
        return self

    def sweep(self, at: float):
        from civicgrid.cases import sweeper

        with self._at(at):
            sweeper.sweep_deadlines(now=clock.now())
        return self
