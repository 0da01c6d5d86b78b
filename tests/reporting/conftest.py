"""A synthetic day at the bank (Europe/Moscow, UTC+3 all year), built the way production builds
it: PBX events through the apply service, agent states through the presence functions.

Monday 16 November 2026, local times. Queue "cards" (T = 20 s, short abandon 5 s) and "loans"
(T = 30 s). Anna (extension 101, team Cards) and Boris (102).

  c0  15 Nov 23:59:50 cards  caller hangs up 00:00:30 on the 16th: belongs to the 15th
  c1  09:00:00 cards  rings Anna 09:00:15, answered 09:00:20 (wait 20 = T: within), hold
                      09:01:00-09:01:30, hung up 09:03:20: talk 180 - 30 = 150, ring 5;
                      Anna wraps up until 09:04:00: 40
  c2  09:10:00 cards  rings Anna 09:10:01 (no answer), rings Boris 09:10:05, answered 09:10:21
                      (wait 21 > T), hung up 09:12:21: talk 120, ring 16; wrap-up to 09:12:51: 30
  c3  09:20:00 cards  caller hangs up 09:20:04: short abandon (4 <= 5)
  c4  09:30:00 cards  rings Anna 09:30:40, caller hangs up 09:30:45: abandoned after T (45)
  c5  09:40:00 cards  caller hangs up 09:40:10: abandoned within T (10)
  c6  09:50:00 cards  queue timeout 09:52:00 (wait 120)
  c7  10:00:00 cards  rings Anna 10:00:03, answered 10:00:08 (wait 8), transferred to 200 at
                      10:02:08 (Anna's wrap-up starts), hung up 10:05:08: talk 300, ring 5;
                      Anna's wrap-up to 10:03:08: 60
  c8  10:30:00 loans  rings Boris 10:30:10, answered 10:30:30 (wait 30 = T of loans: within),
                      hung up 10:33:30: talk 180, ring 20; wrap-up to 10:34:00: 30
  c10 16:59:50 cards  rings Boris 16:59:55, answered 17:00:00, still talking: open
  c9  17:05:00 cards  waiting: open
  c11 17 Nov 00:00:00 cards  queued, abandoned 00:01:00: belongs to the 17th

Anna: available 08:50, paused (Break) 11:00-11:15, offline 12:00. Boris: available 08:55.
The shop (Europe/Rome) has one answered call at the same time, which the bank never counts.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from contactcenter.tenancy.models import Role
from telephony.models import Agent, Call, Extension, PauseReason, PbxConnection, Queue
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.presence import agent_state_set, wrap_up_finish
from telephony.services import call_event_apply
from tests.conftest import make_user

K = CallEventKind
DAY = date(2026, 11, 16)
MOSCOW = ZoneInfo("Europe/Moscow")


def at(hour: int, minute: int, second: int = 0, day: date = DAY, tz=MOSCOW) -> datetime:
    """A local wall time of the company, as the UTC instant the PBX sends."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz).astimezone(UTC)


class Pbx:
    """Sends one connection's events through the real apply service."""

    def __init__(self, connection: PbxConnection):
        self.connection = connection
        self.sent = 0

    def __call__(self, call_id: str, kind: CallEventKind, when: datetime, **fields) -> Call:
        self.sent += 1
        event = CallEvent(
            kind=kind,
            call_id=call_id,
            event_id=f"{call_id}-{self.sent}",
            occurred_at=when,
            **fields,
        )
        return call_event_apply(connection=self.connection, event=event).call


@dataclass
class Day:
    cards: Queue
    loans: Queue
    shop_queue: Queue
    anna: Agent
    boris: Agent
    calls: dict[str, Call]


@pytest.fixture
def synthetic_day(company, other_company, team, agent) -> Day:
    pbx = Pbx(PbxConnection.objects.create(name="Bank PBX", company=company, format="native"))
    cards = Queue.objects.create(
        company=company, name="Cards", code="cards", service_level_seconds=20
    )
    loans = Queue.objects.create(
        company=company, name="Loans", code="loans", service_level_seconds=30
    )
    anna = Agent.objects.create(company=company, user=agent)
    anna.teams.add(team)
    Extension.objects.create(company=company, agent=anna, number="101")
    boris_user = make_user("boris", company, Role.AGENT, first_name="Boris")
    boris = Agent.objects.create(company=company, user=boris_user)
    Extension.objects.create(company=company, agent=boris, number="102")
    PauseReason.objects.create(company=company, code="break", label="Break")
    calls = {}

    def finish(name: str, user, when: datetime) -> None:
        assert wrap_up_finish(call=calls[name], user=user, now=when)

    calls["c0"] = pbx("c0", K.QUEUED, at(23, 59, 50, day=date(2026, 11, 15)), queue="cards")
    pbx("c0", K.HANGUP, at(0, 0, 30), cause=HangupCause.CALLER_ABANDONED)

    agent_state_set(user=agent, state="available", now=at(8, 50))
    agent_state_set(user=boris_user, state="available", now=at(8, 55))

    calls["c1"] = pbx("c1", K.QUEUED, at(9, 0, 0), queue="cards", caller="+79161234567")
    pbx("c1", K.RINGING, at(9, 0, 15), agent="101")
    pbx("c1", K.ANSWERED, at(9, 0, 20), agent="101")
    pbx("c1", K.HOLD, at(9, 1, 0))
    pbx("c1", K.UNHOLD, at(9, 1, 30))
    pbx("c1", K.HANGUP, at(9, 3, 20), cause=HangupCause.NORMAL)
    finish("c1", agent, at(9, 4, 0))

    calls["c2"] = pbx("c2", K.QUEUED, at(9, 10, 0), queue="cards")
    pbx("c2", K.RINGING, at(9, 10, 1), agent="101")
    pbx("c2", K.RINGING, at(9, 10, 5), agent="102")
    pbx("c2", K.ANSWERED, at(9, 10, 21), agent="102")
    pbx("c2", K.HANGUP, at(9, 12, 21), cause=HangupCause.NORMAL)
    finish("c2", boris_user, at(9, 12, 51))

    calls["c3"] = pbx("c3", K.QUEUED, at(9, 20, 0), queue="cards")
    pbx("c3", K.HANGUP, at(9, 20, 4), cause=HangupCause.CALLER_ABANDONED)

    calls["c4"] = pbx("c4", K.QUEUED, at(9, 30, 0), queue="cards")
    pbx("c4", K.RINGING, at(9, 30, 40), agent="101")
    pbx("c4", K.HANGUP, at(9, 30, 45), cause=HangupCause.CALLER_ABANDONED)

    calls["c5"] = pbx("c5", K.QUEUED, at(9, 40, 0), queue="cards")
    pbx("c5", K.HANGUP, at(9, 40, 10), cause=HangupCause.CALLER_ABANDONED)

    calls["c6"] = pbx("c6", K.QUEUED, at(9, 50, 0), queue="cards")
    pbx("c6", K.HANGUP, at(9, 52, 0), cause=HangupCause.NO_ANSWER)

    calls["c7"] = pbx("c7", K.QUEUED, at(10, 0, 0), queue="cards")
    pbx("c7", K.RINGING, at(10, 0, 3), agent="101")
    pbx("c7", K.ANSWERED, at(10, 0, 8), agent="101")
    pbx("c7", K.TRANSFERRED, at(10, 2, 8), transfer_to="200")
    finish("c7", agent, at(10, 3, 8))
    pbx("c7", K.HANGUP, at(10, 5, 8), cause=HangupCause.NORMAL)

    calls["c8"] = pbx("c8", K.QUEUED, at(10, 30, 0), queue="loans")
    pbx("c8", K.RINGING, at(10, 30, 10), agent="102")
    pbx("c8", K.ANSWERED, at(10, 30, 30), agent="102")
    pbx("c8", K.HANGUP, at(10, 33, 30), cause=HangupCause.NORMAL)
    finish("c8", boris_user, at(10, 34, 0))

    agent_state_set(user=agent, state="paused", pause_reason_code="break", now=at(11, 0))
    agent_state_set(user=agent, state="available", now=at(11, 15))
    agent_state_set(user=agent, state="offline", now=at(12, 0))

    calls["c10"] = pbx("c10", K.QUEUED, at(16, 59, 50), queue="cards")
    pbx("c10", K.RINGING, at(16, 59, 55), agent="102")
    pbx("c10", K.ANSWERED, at(17, 0, 0), agent="102")

    calls["c9"] = pbx("c9", K.QUEUED, at(17, 5, 0), queue="cards")

    calls["c11"] = pbx("c11", K.QUEUED, at(0, 0, 0, day=date(2026, 11, 17)), queue="cards")
    pbx("c11", K.HANGUP, at(0, 1, 0, day=date(2026, 11, 17)), cause=HangupCause.CALLER_ABANDONED)

    shop_pbx = PbxConnection.objects.create(name="Shop PBX", company=other_company, format="native")
    shop = Pbx(shop_pbx)
    shop_queue = Queue.objects.create(company=other_company, name="Orders", code="cards")
    calls["s1"] = shop("s1", K.QUEUED, at(9, 0, 0), queue="cards")
    shop("s1", K.ANSWERED, at(9, 0, 10))
    shop("s1", K.HANGUP, at(9, 5, 0), cause=HangupCause.NORMAL)

    for call in calls.values():
        call.refresh_from_db()
    return Day(cards=cards, loans=loans, shop_queue=shop_queue, anna=anna, boris=boris, calls=calls)
