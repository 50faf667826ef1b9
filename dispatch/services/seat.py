"""Services: every action a seat can take, bound to one context (store, clock, who)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.services import calls, recommending, units
from dispatch.services.context import Changes, Context
from dispatch.services.locations import Location

if TYPE_CHECKING:
    from dispatch.geo.recommend import Recommendation


class Services:
    """The one object screens and commands call to change anything."""

    def __init__(self, ctx: Context, roads_provider: Callable[[], Any] | None = None,
                 stale_after_s: float | None = None, tz: str = "Asia/Shanghai") -> None:
        self.ctx = ctx
        self._roads = roads_provider
        self._stale = stale_after_s
        self._tz = tz

    def open_call(self, caller_number: str = "", caller_name: str = "") -> Changes:
        return calls.open_call(self.ctx, caller_number, caller_name)

    def update_caller(self, incident_id: int, number: str, name: str, based_on: Mapping[str, Any] | None = None) -> Changes:
        return calls.update_caller(self.ctx, incident_id, number, name, based_on)

    def locate(self, incident_id: int, location: Location, based_on: Mapping[str, Any] | None = None) -> Changes:
        return calls.locate(self.ctx, incident_id, location, based_on)

    def categorise(self, incident_id: int, category: str, priority: str | None = None,
                   narrative: str | None = None, based_on: Mapping[str, Any] | None = None) -> Changes:
        return calls.categorise(self.ctx, incident_id, category, priority, narrative, based_on)

    def add_note(self, incident_id: int, text: str) -> Changes:
        return calls.add_note(self.ctx, incident_id, text)

    def recommend(self, incident_id: int, limit: int = 5, log: bool = True) -> Recommendation:
        if self._roads is None:
            raise DispatchError("路网未加载，无法推荐警力")
        return recommending.recommend_for(self.ctx, self._roads, incident_id, limit,
                                          self._stale, self._tz, log)

    def dispatch(self, incident_id: int, unit_ids: Sequence[int],
                 estimates: dict[int, tuple[float, float]] | None = None) -> Changes:
        return units.dispatch(self.ctx, incident_id, unit_ids, estimates)

    def set_unit_status(self, unit_id: int, status: UnitStatus | str, note: str = "",
                        fix: dict[str, Any] | None = None) -> Changes:
        return units.set_status(self.ctx, unit_id, status, note, fix)

    def report_position(self, unit_id: int, lon: float, lat: float, at: datetime | None = None,
                        speed: float | None = None, heading: float | None = None) -> Changes:
        return units.report_position(self.ctx, unit_id, lon, lat, at, speed, heading)

    def close(self, incident_id: int, result_code: str, note: str = "") -> Changes:
        return calls.close(self.ctx, incident_id, result_code, note)

    def callback(self, incident_id: int, satisfied: bool, note: str = "") -> Changes:
        return calls.callback(self.ctx, incident_id, satisfied, note)

    def reopen(self, incident_id: int, reason: str) -> Changes:
        """值班长: a closed incident back to 待派 (the reason is required)."""
        from dispatch.services import lead
        return lead.reopen(self.ctx, incident_id, reason)

    def move_incident(self, incident_id: int, to_seat: str, reason: str = "") -> Changes:
        """值班长: an open incident to another seat (and the operator last seen there)."""
        from dispatch.services import lead
        return lead.move(self.ctx, incident_id, to_seat, reason)

    def load_national_register(self, progress: Callable[[int, int], None] | None = None) -> int:
        from dispatch.services import national_register
        return national_register.load(self.ctx, progress)

    def national_register_count(self) -> int:
        from dispatch.services import national_register
        with self.ctx.store.reader() as s:
            return national_register.imported_count(s)

    def use_geocoder(self, provider: Callable[[], Any]) -> None:
        """Where propose_place puts a new place at once: provider() is this seat's
        geocoder, or None while it is not loaded (it then reads the place from the table)."""
        self._geocoder_provider = provider

    def propose_place(self, words: str, lon: float, lat: float,
                      alias_of_place_id: int | None = None) -> Changes:
        """地名补录: keep the caller's words at this point (searchable at once on this seat)."""
        from dispatch.services import places
        provider = getattr(self, "_geocoder_provider", None)
        return places.propose_place(self.ctx, words, lon, lat, alias_of_place_id,
                                    geocoder=provider() if provider else None)

    def confirm_place(self, place_id: int) -> Changes:
        """The shift lead confirms a proposed place."""
        from dispatch.services import places
        return places.confirm_place(self.ctx, place_id)

    # ---- issue 12: 联动, 转警, the phone line -------------------------------------------
    def notify_agency(self, incident_id: int, agency: str, method: str = "phone", reference: str = "",
                      note: str = "") -> Changes:
        """联动通知: a partner agency (119, 120, 122, 12345, 燃气 …) told of the incident."""
        from dispatch.services import joint_response
        return joint_response.notify(self.ctx, incident_id, agency, method, reference, note)

    def acknowledge_agency(self, incident_id: int, agency: str | None = None,
                           notification_id: int | None = None, reference: str = "") -> Changes:
        """联动确认: the partner acknowledged (by agency or notification id)."""
        from dispatch.services import joint_response
        return joint_response.acknowledge(self.ctx, incident_id, agency, notification_id, reference)

    def transfer(self, incident_id: int, to: str, reason: str) -> Changes:
        """转警: hand the incident to another centre or department; it closes as 转办."""
        from dispatch.services import transfer
        return transfer.transfer(self.ctx, incident_id, to, reason)

    def answer_call(self, number: str, lon: float | None = None, lat: float | None = None,
                    accuracy_m: float | None = None, in_hand: int | None = None) -> int:
        """The phone system answered a call at this seat: fill the call in hand or open one,
        keeping the carrier location."""
        from dispatch.services import phone_calls
        return phone_calls.answer(self.ctx, number, lon, lat, accuracy_m, in_hand)

    def take_over(self, outgoing: str) -> Changes:
        """交接班: the open incidents of operator `outgoing` pass to the one acting here."""
        from dispatch.services.accounts import take_over
        return take_over(self.ctx, outgoing)
