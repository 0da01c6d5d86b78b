"""A PBX in miniature: the native events of inbound calls, on a timeline, for demos and tests.

Pure and seeded: given the companies' queues and agents, the arrival rate and a random seed, it
yields the same events at the same offsets every time, touching no database, clock or network
(`manage.py simulate_pbx` sends them over HTTP at their due times). The model:

- Calls arrive in each queue as a Poisson process (exponential gaps), `rate_per_minute` each.
- A waiting call rings the longest-idle free agent who has every skill its queue requires
  (first come, first served across a company's queues). An agent rings, talks or wraps up one
  call at a time: the same phone never rings for two calls at once.
- Ring 2-10 s, talk log-normal around 3 min, sometimes one hold, sometimes a transfer to another
  queue (`transferred`, then a second agent rings and answers), wrap-up 10-40 s (never longer
  than the queue's maximum), after which the agent event `available` frees the agent. The
  recording is announced a few seconds after the hang-up.
- Each caller has an exponential patience: a caller still waiting in the queue when it runs out
  hangs up (an abandon). Once the phone rings the caller stays, so abandons happen only before
  an answer.
- `speed` divides every duration (ring, talk, hold, wrap-up, patience, pauses) but not the
  arrival rate, so a demo at speed 4 shows the same calls per minute, each a quarter as long.

Event ids are `sim<seed>-<start in Unix seconds>-<sequence>` and call ids the same with a `c`:
unique from one run to the next, and the same again when a run is replayed with its seed and
start (the server then counts them as duplicates).
"""

import heapq
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class SimQueue:
    code: str  # the queue's name as the PBX reports it (Queue.code)
    skills: frozenset[str] = frozenset()  # an agent needs all of them
    did: str = ""  # the number callers dial for this queue
    max_wrap_up_seconds: float = 120


@dataclass(frozen=True)
class SimAgent:
    extension: str
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SimCompany:
    slug: str
    queues: tuple[SimQueue, ...]
    agents: tuple[SimAgent, ...]
    known_callers: tuple[str, ...] = ()  # the phone numbers of existing customers
    # An unknown caller's number: each # becomes a random digit.
    unknown_caller_template: str = "+1201555####"
    pause_reasons: tuple[str, ...] = ()  # codes; empty: agents never pause


@dataclass(frozen=True)
class Profile:
    """How calls behave, in real seconds (before `speed` divides them)."""

    ring_seconds: tuple[float, float] = (2, 10)  # uniform
    talk_median_seconds: float = 180  # log-normal: about two thirds within 2-4 minutes
    talk_sigma: float = 0.35
    hold_probability: float = 0.2
    hold_median_seconds: float = 30
    hold_sigma: float = 0.5
    transfer_probability: float = 0.1
    transfer_delay_seconds: tuple[float, float] = (1, 3)  # from `transferred` to the next ring
    patience_mean_seconds: float | None = 60  # exponential; None: callers wait forever
    patience_fixed: bool = False  # every caller waits exactly the mean (tests, what-if runs)
    wrap_up_seconds: tuple[float, float] = (10, 40)
    recording_delay_seconds: tuple[float, float] = (2, 10)
    known_caller_probability: float = 0.6
    pause_probability: float = 0.05  # after becoming available
    pause_after_seconds: tuple[float, float] = (5, 30)
    pause_median_seconds: float = 180
    pause_sigma: float = 0.4


@dataclass(frozen=True)
class CallSummary:
    """What became of one call, for the simulator's one line per call."""

    call_id: str
    company: str
    queue: str  # the queue it entered
    caller: str
    known_caller: bool
    answered: bool
    wait: float  # queue entry to the answer, or to the abandon
    agents: tuple[str, ...] = ()  # who answered, in order: two after a transfer
    transfer_to: str = ""  # the queue it was transferred to
    talk: float = 0.0  # over every leg, hold excluded
    hold: float = 0.0


@dataclass(frozen=True)
class Scheduled:
    due: float  # seconds after the start of the run
    company: str  # slug: whose connection sends it
    event: dict  # the native event; its timestamp is the start plus `due`
    call: CallSummary | None = None  # on the hang-up that ends a call


@dataclass(eq=False)
class _Agent:
    company: str
    extension: str
    skills: frozenset[str]
    order: int
    state: str = "offline"  # offline, free, ringing, talking, wrap_up, paused
    free_since: float = 0.0


@dataclass(eq=False)
class _Call:
    id: str
    company: SimCompany
    queue: SimQueue  # the queue it entered
    caller: str
    known: bool
    queued_at: float
    state: str = "waiting"  # waiting, ringing, talking, ended
    current_queue: SimQueue | None = None
    agent: _Agent | None = None
    leg: int = 1
    on_hold: bool = False
    answered_at: float | None = None
    agents: list[str] = field(default_factory=list)
    transfer_to: str = ""
    talk: float = 0.0
    hold: float = 0.0


def iso_utc(moment: datetime) -> str:
    """`2026-11-23T09:15:02.250Z`: the native format's timestamp, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Simulation:
    """Iterate for the timeline, in due order; `close()` ends a run that never would."""

    def __init__(
        self,
        companies: Sequence[SimCompany],
        *,
        seed: int,
        start: datetime,
        rate_per_minute: float = 1.0,
        speed: float = 1.0,
        duration: float | None = None,
        profile: Profile | None = None,
        arrivals: Sequence[tuple[float, str, str]] | None = None,
    ):
        """`duration`: no call arrives after it, and the timeline ends once the calls in progress
        are over (None: calls keep coming). `arrivals`: exact (time, company, queue) arrivals
        instead of the Poisson process, for tests."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        if rate_per_minute < 0:
            raise ValueError("the rate must not be negative")
        if duration is not None and duration < 0:
            raise ValueError("the duration must not be negative")
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.companies = {c.slug: c for c in companies}
        for company in companies:
            for what, names in (
                ("queue code", [q.code for q in company.queues]),
                ("extension", [a.extension for a in company.agents]),
            ):
                if len(set(names)) != len(names):
                    raise ValueError(f"{company.slug}: a {what} appears twice")
        self.start = start
        self.rate_per_minute = rate_per_minute
        self.speed = speed
        self.duration = duration
        self.profile = profile or Profile()
        self.arrivals = sorted(arrivals) if arrivals is not None else None
        self.now = 0.0
        self._random = random.Random(seed)
        self._prefix = f"sim{seed}-{int(start.timestamp())}"
        self._event_count = 0
        self._call_count = 0
        self._heap: list = []
        self._sequence = 0
        self._agents = {
            c.slug: [
                _Agent(c.slug, a.extension, frozenset(a.skills), order)
                for order, a in enumerate(c.agents)
            ]
            for c in companies
        }
        self._waiting: dict[str, list[_Call]] = {c.slug: [] for c in companies}
        self._open: dict[str, _Call] = {}
        self._started = self._closed = False

    # --- The timeline -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Scheduled]:
        if self._started:
            raise RuntimeError("a simulation runs once")
        self._started = True
        for agents in self._agents.values():
            for agent in agents:
                agent.state, agent.free_since = "free", 0.0
                yield self._agent_event(agent, "login")
        if self.arrivals is not None:
            for at, company, queue in self.arrivals:
                self._at(at, self._arrive, self.companies[company], self._queue(company, queue))
        elif self.rate_per_minute > 0:
            for company in self.companies.values():
                for queue in company.queues:
                    self._next_arrival(company, queue, after=0.0)
        while self._heap and not self._closed:
            self.now, _, action, args = heapq.heappop(self._heap)
            yield from action(*args)
        if not self._closed:
            for agents in self._agents.values():
                for agent in agents:
                    agent.state = "offline"
                    yield self._agent_event(agent, "logout")

    def close(self, at: float) -> list[Scheduled]:
        """End the run at `at`: hang up every call in progress and log every agent out."""
        self._closed = True
        self.now = max(self.now, at)
        out = []
        for call in list(self._open.values()):
            if call.on_hold:
                out.append(self._call_event(call, "unhold", agent=call.agent.extension))
            answered = call.answered_at is not None
            out.append(self._hangup(call, cause="normal" if answered else "abandoned"))
        for agents in self._agents.values():
            for agent in agents:
                if agent.state != "offline":
                    agent.state = "offline"
                    out.append(self._agent_event(agent, "logout"))
        return out

    # --- Scheduling ---------------------------------------------------------------------------

    def _at(self, when: float, action, *args) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (when, self._sequence, action, args))

    def _scaled(self, seconds: float) -> float:
        return seconds / self.speed

    def _uniform(self, bounds: tuple[float, float]) -> float:
        return self._random.uniform(*bounds)

    def _lognormal(self, median: float, sigma: float) -> float:
        return self._random.lognormvariate(math.log(median), sigma)

    def _queue(self, company: str, code: str) -> SimQueue:
        for queue in self.companies[company].queues:
            if queue.code == code:
                return queue
        raise ValueError(f"{company}: no queue {code!r}")

    def _next_arrival(self, company: SimCompany, queue: SimQueue, after: float) -> None:
        at = after + self._random.expovariate(self.rate_per_minute / 60)
        if self.duration is None or at < self.duration:
            self._at(at, self._arrive, company, queue)

    # --- Events -------------------------------------------------------------------------------

    def _body(self, type_: str, call_id: str | None, fields: dict) -> dict:
        self._event_count += 1
        body = {"event_id": f"{self._prefix}-{self._event_count:06d}"}
        if call_id is not None:
            body["call_id"] = call_id
        body["type"] = type_
        body["timestamp"] = iso_utc(self.start + timedelta(seconds=round(self.now, 3)))
        body.update((key, value) for key, value in fields.items() if value)
        return body

    def _call_event(self, call: _Call, type_: str, summary: bool = False, **fields) -> Scheduled:
        return Scheduled(
            due=round(self.now, 3),
            company=call.company.slug,
            event=self._body(type_, call.id, fields),
            call=self._summary(call) if summary else None,
        )

    def _agent_event(self, agent: _Agent, action: str, reason: str = "") -> Scheduled:
        fields = {"agent": agent.extension, "action": action, "reason": reason}
        return Scheduled(
            due=round(self.now, 3), company=agent.company, event=self._body("agent", None, fields)
        )

    def _summary(self, call: _Call) -> CallSummary:
        answered = call.answered_at is not None
        return CallSummary(
            call_id=call.id,
            company=call.company.slug,
            queue=call.queue.code,
            caller=call.caller,
            known_caller=call.known,
            answered=answered,
            wait=round((call.answered_at if answered else self.now) - call.queued_at, 3),
            agents=tuple(call.agents),
            transfer_to=call.transfer_to,
            talk=round(call.talk, 3),
            hold=round(call.hold, 3),
        )

    # --- Actions: each runs at its due time and returns the events it causes -----------------

    def _caller(self, company: SimCompany) -> tuple[str, bool]:
        if company.known_callers and self._random.random() < self.profile.known_caller_probability:
            return self._random.choice(company.known_callers), True
        digits = (
            str(self._random.randrange(10)) if char == "#" else char
            for char in company.unknown_caller_template
        )
        return "".join(digits), False

    def _arrive(self, company: SimCompany, queue: SimQueue) -> list[Scheduled]:
        self._call_count += 1
        caller, known = self._caller(company)
        call = _Call(
            id=f"{self._prefix}-c{self._call_count:05d}",
            company=company,
            queue=queue,
            caller=caller,
            known=known,
            queued_at=self.now,
            current_queue=queue,
        )
        self._open[call.id] = call
        self._waiting[company.slug].append(call)
        if self.arrivals is None:
            self._next_arrival(company, queue, after=self.now)
        patience = self.profile.patience_mean_seconds
        if patience is not None:
            if self.profile.patience_fixed or patience <= 0:
                wait = patience
            else:
                wait = self._random.expovariate(1 / patience)
            self._at(self.now + self._scaled(wait), self._abandon, call)
        out = [
            self._call_event(
                call,
                "queued",
                direction="inbound",
                caller=caller,
                callee=queue.did,
                did=queue.did,
                queue=queue.code,
            )
        ]
        return out + self._dispatch(company.slug)

    def _free_agent(self, company: str, queue: SimQueue) -> _Agent | None:
        free = [a for a in self._agents[company] if a.state == "free" and queue.skills <= a.skills]
        return min(free, key=lambda a: (a.free_since, a.order)) if free else None

    def _dispatch(self, company: str) -> list[Scheduled]:
        """Ring the longest-idle able agent for each waiting call, oldest call first."""
        out = []
        for call in list(self._waiting[company]):
            agent = self._free_agent(company, call.queue)
            if agent is None:
                continue
            self._waiting[company].remove(call)
            out.append(self._ring(call, agent, first=True))
        return out

    def _ring(self, call: _Call, agent: _Agent, first: bool) -> Scheduled:
        call.state, call.agent, agent.state = "ringing", agent, "ringing"
        self._at(
            self.now + self._scaled(self._uniform(self.profile.ring_seconds)), self._answer, call
        )
        queue = call.current_queue
        if not first:  # as the PBX reports a transferred call: the new queue and agent only
            return self._call_event(call, "ringing", queue=queue.code, agent=agent.extension)
        return self._call_event(
            call,
            "ringing",
            direction="inbound",
            caller=call.caller,
            callee=queue.did,
            did=queue.did,
            queue=queue.code,
            agent=agent.extension,
        )

    def _answer(self, call: _Call) -> list[Scheduled]:
        if call.state != "ringing":
            return []
        agent = call.agent
        call.state, agent.state = "talking", "talking"
        if call.answered_at is None:
            call.answered_at = self.now
        call.agents.append(agent.extension)
        profile = self.profile
        talk = self._scaled(self._lognormal(profile.talk_median_seconds, profile.talk_sigma))
        call.talk += talk
        hold = 0.0
        if self._random.random() < profile.hold_probability:
            hold = self._scaled(self._lognormal(profile.hold_median_seconds, profile.hold_sigma))
            hold_at = self.now + talk * self._random.uniform(0.2, 0.7)
            self._at(hold_at, self._hold, call, True)
            self._at(hold_at + hold, self._hold, call, False)
            call.hold += hold
        self._at(self.now + talk + hold, self._end_leg, call)
        return [
            self._call_event(call, "answered", queue=call.current_queue.code, agent=agent.extension)
        ]

    def _hold(self, call: _Call, on: bool) -> list[Scheduled]:
        if call.state != "talking":
            return []
        call.on_hold = on
        return [self._call_event(call, "hold" if on else "unhold", agent=call.agent.extension)]

    def _end_leg(self, call: _Call) -> list[Scheduled]:
        if call.state != "talking":
            return []
        company = call.company
        if call.leg == 1 and self._random.random() < self.profile.transfer_probability:
            others = [q for q in company.queues if q is not call.current_queue] or [
                call.current_queue
            ]
            target = self._random.choice(others)
            successor = self._free_agent(company.slug, target)
            if successor is not None:
                return self._transfer(call, target, successor)
        return [self._hangup(call, cause="normal")]

    def _transfer(self, call: _Call, target: SimQueue, successor: _Agent) -> list[Scheduled]:
        previous = call.agent
        event = self._call_event(
            call, "transferred", agent=previous.extension, transfer_to=target.code
        )
        self._wrap_up(previous, call.current_queue)
        call.leg, call.current_queue, call.transfer_to = 2, target, target.code
        # Held for this call from now on, so that no queued call takes it before it rings.
        call.state, call.agent, successor.state = "ringing", successor, "ringing"
        delay = self._scaled(self._uniform(self.profile.transfer_delay_seconds))
        self._at(self.now + delay, self._transfer_ring, call, successor)
        return [event]

    def _transfer_ring(self, call: _Call, agent: _Agent) -> list[Scheduled]:
        if call.state != "ringing" or call.agent is not agent:
            return []
        return [self._ring(call, agent, first=False)]

    def _hangup(self, call: _Call, cause: str) -> Scheduled:
        """The call's last hang-up; a talking agent goes to wrap-up, a ringing one is free."""
        agent, was = call.agent, call.state
        if was == "waiting":
            self._waiting[call.company.slug].remove(call)
        call.state = "ended"
        self._open.pop(call.id, None)
        if cause == "abandoned":
            event = self._call_event(
                call,
                "hangup",
                summary=True,
                queue=call.current_queue.code,
                agent=agent.extension if agent and was == "ringing" else "",
                cause=cause,
            )
        else:
            event = self._call_event(
                call, "hangup", summary=True, agent=agent.extension, cause=cause
            )
        if not self._closed:
            if was == "talking":
                self._wrap_up(agent, call.current_queue)
                delay = self._scaled(self._uniform(self.profile.recording_delay_seconds))
                self._at(self.now + delay, self._recording, call)
            elif was == "ringing":
                self._become_free(agent)
        return event

    def _abandon(self, call: _Call) -> list[Scheduled]:
        if call.state != "waiting":
            return []
        return [self._hangup(call, cause="abandoned")]

    def _recording(self, call: _Call) -> list[Scheduled]:
        url = f"https://pbx.{call.company.slug}.example.com/recordings/{call.id}.wav"
        return [self._call_event(call, "recording", recording_url=url)]

    def _wrap_up(self, agent: _Agent, queue: SimQueue) -> None:
        agent.state = "wrap_up"
        wrap = min(self._uniform(self.profile.wrap_up_seconds), queue.max_wrap_up_seconds)
        self._at(self.now + self._scaled(wrap), self._available, agent)

    def _become_free(self, agent: _Agent) -> None:
        agent.state, agent.free_since = "free", self.now

    def _available(self, agent: _Agent) -> list[Scheduled]:
        self._become_free(agent)
        out = [self._agent_event(agent, "available")]
        reasons = self.companies[agent.company].pause_reasons
        arriving = self.duration is None or self.now < self.duration
        if reasons and arriving and self._random.random() < self.profile.pause_probability:
            after = self._scaled(self._uniform(self.profile.pause_after_seconds))
            self._at(self.now + after, self._pause, agent, self._random.choice(reasons))
        return out + self._dispatch(agent.company)

    def _pause(self, agent: _Agent, reason: str) -> list[Scheduled]:
        if agent.state != "free":  # a call came first: the break can wait
            return []
        agent.state = "paused"
        profile = self.profile
        length = self._scaled(self._lognormal(profile.pause_median_seconds, profile.pause_sigma))
        self._at(self.now + length, self._available, agent)
        return [self._agent_event(agent, "pause", reason=reason)]
