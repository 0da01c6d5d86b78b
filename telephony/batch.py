"""The applier's unit of work: a batch of stored requests read in a few statements, applied in
memory, written in a few more.

Applied one by one, an event costs about nine statements: lock its call, store the event, read
the call's events, write the call, lock the agents, read their states, write the states...
Nearly all of that repeats across a batch of a few hundred events, which name the same calls and
agents again and again. Within a batch (one transaction, `telephony.applier`) the apply service
(`services.call_event_apply`, `presence.call_presence_apply`) asks this module instead of the
database:

- before the first event, every call of the batch is locked and read, with its events, its
  linked customers, the agents on it and their current states, and every agent the batch's
  events name is locked (calls first, then agents: the lock order of `presence`);
- while events are applied, the calls, events and agent states change in memory, exactly as the
  statements would have changed them;
- at the end, the new calls (whole, with keys taken ahead from their sequence on PostgreSQL),
  new events, customer links, changed calls and agent states are written in a handful of
  multi-row statements.

A request the batch cannot apply makes the applier start the batch again without this module
(one savepoint per request), so every outcome stays the one-by-one outcome.
"""

import threading
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection

from contactcenter.lib import rawsql
from contactcenter.lib.rawsql import placeholders
from crm.models import Customer, CustomerPhone
from crm.selectors import customers_by_phone
from telephony.models import (
    Agent,
    AgentStateInterval,
    Call,
    CallEventRecord,
    Extension,
    PbxConnection,
)
from telephony.pbx.events import CallEvent

_local = threading.local()


def current() -> "Batch | None":
    """The batch being applied in this thread, if any."""
    return getattr(_local, "batch", None)


@contextmanager
def suspended():
    """Apply directly to the database within the block (an agent event, whose path reads and
    writes agent states itself, and may end a wrap-up on a call): the batch is written first,
    and afterwards reads again what it had read (the rows stay locked: same transaction)."""
    batch = current()
    if batch is None:
        yield
        return
    batch.flush()
    _local.batch = None
    try:
        yield
    finally:
        _local.batch = batch.fresh()


def _by_name_later(customer_ids: set[int], company_id: int | None = None):
    """These customers (of that company only, when given) as (id, name), by name as the card
    lists them (in the database's collation): sent now, read when the function returned is
    called."""
    ids = sorted(customer_ids)
    of_company = "company_id = %s AND " if company_id is not None else ""
    return rawsql.execute_later(
        f"SELECT id, display_name FROM {Customer._meta.db_table} "
        f"WHERE {of_company}id IN ({placeholders(ids)}) ORDER BY display_name, id",
        [company_id, *ids] if company_id is not None else ids,
    )


class Batch:
    def __init__(self):
        self.calls: dict[tuple[int, str], Call] = {}  # (connection id, PBX call id), locked
        self.calls_by_id: dict[int, Call] = {}
        self.events: dict[int, list[CallEvent]] = {}  # call id -> its events, as stored
        self.event_ids: set[tuple[int, str]] = set()  # (connection id, event id) stored
        self.records: list[CallEventRecord] = []
        self.dirty: dict[int, set[str]] = {}  # call id -> fields changed
        self.customers: dict[int, list[tuple[int, str]]] = {}  # call id -> linked (id, name)
        self.new_links: dict[int, list[int]] = {}  # call id -> customer ids to link
        self.phone_matches: dict[tuple[int, str], list[tuple[int, str]]] = {}
        self.derived_rows: dict[tuple[type, int], list] = {}  # (model, call id) -> its rows
        self.statements: dict[str, list[list]] = {}  # written at the end, in this order
        self.locked_agents: set[int] = set()
        self.calls_with_agents: set[int] = set()  # calls whose agents are locked and read
        self.open: dict[int, AgentStateInterval] = {}  # agent id -> current state
        self.new_intervals: list[AgentStateInterval] = []
        self.closed_intervals: dict[int, AgentStateInterval] = {}  # stored ones, now ended
        self.call_keys: list[int] = []  # primary keys taken ahead for the batch's new calls
        self.new_calls: list[Call] = []  # written whole at the end

    def fresh(self) -> "Batch":
        """A batch that knows only what was written: the event ids (and the phone matches)."""
        batch = Batch()
        batch.event_ids, batch.phone_matches = self.event_ids, self.phone_matches
        batch.fresh_start = True
        return batch

    # The calls not read ahead are new, unless the batch started again after an agent event.
    fresh_start = False

    # --- reading, once per batch ------------------------------------------------------------

    def preload(self, requests: Iterable[tuple[PbxConnection, list]]) -> None:
        """Lock and read what the batch's call events will need; `requests`: each request's
        connection and parsed events.

        In three steps, each one round trip on PostgreSQL (rawsql.pipelined): the calls locked,
        the events already stored, queues and extensions; then the calls' events and customers,
        the keys of the calls not found (new ones), the new callers' phones and the agents
        locked; then names and the agents' states. Calls are locked before agents, as presence
        locks them."""
        from telephony.services import lookups_prefill_later

        requests = list(requests)
        keys: dict[int, set[str]] = {}
        event_ids: dict[int, set[str]] = {}
        extensions: set[str] = set()
        companies = set()
        for pbx, events in requests:
            for event in events:
                if not isinstance(event, CallEvent) or not event.call_id:
                    continue
                keys.setdefault(pbx.pk, set()).add(event.call_id)
                event_ids.setdefault(pbx.pk, set()).add(event.event_id)
                if event.agent:
                    extensions.add(event.agent)
            if pbx.company_id is not None:
                companies.add(pbx.company_id)
        if not keys:
            return
        with rawsql.pipelined():
            # Step 1.
            where = " OR ".join(
                f"(connection_id = %s AND pbx_call_id IN ({placeholders(ids)}))"
                for ids in keys.values()
            )
            params = [v for pk, ids in keys.items() for v in (pk, *sorted(ids))]
            calls = rawsql.select_later(Call, f"({where})", params, order_by="id", lock=True)
            stored = [
                (
                    pk,
                    rawsql.select_values_later(
                        CallEventRecord,
                        ["event_id"],
                        f"connection_id = %s AND event_id IN ({placeholders(ids)})",
                        [pk, *sorted(ids)],
                    ),
                )
                for pk, ids in event_ids.items()
            ]
            prefilled = sorted(companies)
            keep_lookups = lookups_prefill_later(prefilled, sorted(extensions))
            for call in calls():
                self._keep_call(call)
                companies.add(call.company_id)
            for pk, rows in stored:
                self.event_ids.update((pk, event_id) for (event_id,) in rows())
            keep_lookups()
            # Step 2. A shared PBX's companies are known from its calls: their lookups now.
            more = sorted(companies.difference(prefilled))
            keep_more_lookups = lookups_prefill_later(more, sorted(extensions))
            call_ids = sorted(self.calls_by_id)
            new = sum((pk, call) not in self.calls for pk, calls in keys.items() for call in calls)
            call_keys = self._take_call_keys_later(new)
            matches = self._read_phone_matches(self._new_callers(requests))
            events = self._read_events(call_ids)
            linked = self._read_linked_customers(call_ids)
            locked = self._lock_agents(sorted(companies), sorted(extensions), call_ids)
            keep_more_lookups()
            events()
            call_keys()
            # Step 3: each of these reads its answer from step 2 and sends what depends on it.
            keeps = [linked(), matches(), locked()]
            for keep in keeps:
                keep()
        self.calls_with_agents.update(call_ids)

    def _take_call_keys_later(self, count: int):
        """On PostgreSQL, take `count` primary keys for new calls from the table's sequence:
        sent now, kept when the function returned is called. (SQLite has no sequence: a new
        call is inserted as it is made there.)"""
        if not count or connection.vendor != "postgresql":
            return lambda: None
        keys = rawsql.execute_later(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [Call._meta.db_table, Call._meta.pk.column, count],
        )

        def keep():
            self.call_keys = [key for (key,) in keys()]

        return keep

    def _new_callers(self, requests) -> dict[int, set[str]]:
        """The callers' numbers of the calls the batch starts, by company (a shared PBX's
        company is only known once the call is placed: those are looked up one by one)."""
        from contactcenter.lib.phones import lookup_key

        found: dict[int, set[str]] = {}
        for pbx, events in requests:
            if pbx.company_id is None:
                continue
            for event in events:
                if (
                    isinstance(event, CallEvent)
                    and event.caller
                    and (pbx.pk, event.call_id) not in self.calls
                ):
                    e164 = lookup_key(event.caller, pbx.company.default_country)
                    if e164:
                        found.setdefault(pbx.company_id, set()).add(e164)
        return found

    def _read_events(self, call_ids: list[int]):
        """The calls' stored events: sent now, kept when the function returned is called."""
        from telephony.services import event_from_json

        if not call_ids:
            return lambda: None
        rows = rawsql.select_values_later(
            CallEventRecord, ["call_id", "data"], f"call_id IN ({placeholders(call_ids)})", call_ids
        )

        def keep():
            for call_id, data in rows():
                self.events[call_id].append(event_from_json(data))

        return keep

    def _keep_call(self, call: Call) -> None:
        self.calls[(call.connection_id, call.pbx_call_id)] = call
        self.calls_by_id[call.pk] = call
        self.events.setdefault(call.pk, [])

    def _read_linked_customers(self, call_ids: list[int]):
        """The calls' customers, in two steps, each by an index (joined, the planner may scan
        every customer): sends the first; the function returned reads it and sends the second,
        and returns the function that reads that."""
        if not call_ids:
            return lambda: lambda: None
        for call_id in call_ids:
            self.customers[call_id] = []
        links_later = rawsql.execute_later(
            f"SELECT call_id, customer_id FROM {Call.customers.through._meta.db_table} "
            f"WHERE call_id IN ({placeholders(call_ids)})",
            call_ids,
        )

        def names_later():
            links = links_later()
            if not links:
                return lambda: None
            names = _by_name_later({customer_id for _call_id, customer_id in links})

            def keep():
                ordered = names()
                rank = {pk: (position, name) for position, (pk, name) in enumerate(ordered)}
                for call_id, customer_id in sorted(links, key=lambda link: rank[link[1]][0]):
                    self.customers[call_id].append((customer_id, rank[customer_id][1]))

            return keep

        return names_later

    def _read_phone_matches(self, callers: dict[int, set[str]]):
        """Every customer of each company with one of these numbers (E.164), at once: the
        numbers' customers, then their names (one table each: a join's plan depends on table
        statistics, which a fresh import has not got yet). In steps, as
        `_read_linked_customers`."""
        phones_later = {}
        for company_id, numbers in callers.items():
            numbers = sorted(numbers)
            for number in numbers:
                self.phone_matches[(company_id, number)] = []
            phones_later[company_id] = rawsql.execute_later(
                f"SELECT e164, customer_id FROM {CustomerPhone._meta.db_table} "
                f"WHERE company_id = %s AND e164 IN ({placeholders(numbers)})",
                [company_id, *numbers],
            )

        def names_later():
            pending = []
            for company_id, fetch in phones_later.items():
                phones = fetch()
                if phones:
                    ids = {customer_id for _number, customer_id in phones}
                    pending.append((company_id, phones, _by_name_later(ids, company_id)))

            def keep():
                for company_id, phones, names in pending:
                    ordered = names()
                    of_number: dict[str, set[int]] = {}
                    for number, customer_id in phones:
                        of_number.setdefault(number, set()).add(customer_id)
                    for number, ids in of_number.items():
                        self.phone_matches[(company_id, number)] = [
                            (pk, name) for pk, name in ordered if pk in ids
                        ]

            return keep

        return names_later

    def _lock_agents(self, companies: list[int], extensions: list[str], call_ids: list[int]):
        """Sends the lock; the function returned reads it, sends the read of the agents' states
        and returns the function that keeps them."""
        conditions, params = [], []
        if companies and extensions:
            conditions.append(
                f"id IN (SELECT agent_id FROM {Extension._meta.db_table} "
                f"WHERE company_id IN ({placeholders(companies)}) "
                f"AND number IN ({placeholders(extensions)}))"
            )
            params += [*companies, *extensions]
        if call_ids:
            conditions.append(
                f"id IN (SELECT agent_id FROM {AgentStateInterval._meta.db_table} "
                f"WHERE ended_at IS NULL AND call_id IN ({placeholders(call_ids)}))"
            )
            params += call_ids
        if not conditions:
            return lambda: lambda: None
        return self.lock_agents_later(" OR ".join(conditions), params)

    def lock_agents(self, where: str, params: list) -> None:
        """Lock these agents (in id order) and read the current state of those not yet read."""
        self.lock_agents_later(where, params)()()

    def lock_agents_later(self, where: str, params: list):
        from telephony.presence import open_intervals_later

        fetch = rawsql.lock_later(Agent, where, params)

        def states_later():
            locked = [pk for pk in fetch() if pk not in self.locked_agents]
            self.locked_agents.update(locked)
            states = open_intervals_later(locked)

            return lambda: self.open.update(states())

        return states_later

    # --- calls and events -------------------------------------------------------------------

    def call(self, connection_id: int, pbx_call_id: str) -> Call | None:
        return self.calls.get((connection_id, pbx_call_id))

    def take_call_key(self) -> int | None:
        """A primary key for a call new to the batch, or None: the call is then inserted
        at once (SQLite, or a batch that started again after an agent event)."""
        return self.call_keys.pop(0) if self.call_keys else None  # in the order calls come

    def call_created(self, call: Call) -> None:
        """A new call, given a key by `take_call_key`: written whole, once, with the batch.
        Should another transaction create the same call meanwhile (a second applier), that
        INSERT breaks the unique (connection, PBX call id), and the applier applies the batch
        again without this module."""
        self.new_calls.append(call)
        self.call_added(call, created=True)

    def call_added(self, call: Call, *, created: bool) -> None:
        """A call locked during the batch: made by it (no events, no customers yet), or made
        by another transaction since the batch was read."""
        self._keep_call(call)
        if created:
            self.customers[call.pk] = []
            self.calls_with_agents.add(call.pk)
        else:
            from telephony.services import event_from_json

            rows = rawsql.select_values(CallEventRecord, ["data"], "call_id = %s", [call.pk])
            self.events[call.pk] = [event_from_json(data) for (data,) in rows]

    def add_event(self, record: CallEventRecord, event: CallEvent) -> bool:
        """Keep the event for writing; False when its id is already stored (a retry). Every
        event id of the batch was read ahead, after its call was locked: a concurrent writer of
        the same call has committed by then."""
        key = (record.connection_id, record.event_id)
        if key in self.event_ids:
            return False
        self.event_ids.add(key)
        self.records.append(record)
        self.events[record.call_id].append(event)
        return True

    def call_changed(self, call: Call, field_names: Iterable[str]) -> None:
        self.dirty.setdefault(call.pk, set()).update(field_names)

    def matches(self, company, e164: str) -> list[tuple[int, str]]:
        """The company's customers with this number, as (id, name) by name: read ahead for the
        batch's new calls, else looked up (a shared PBX's call, placed by its DID)."""
        key = (company.pk, e164)
        if key not in self.phone_matches:
            found = customers_by_phone(company, e164)
            self.phone_matches[key] = [(c.pk, c.display_name) for c in found]
        return self.phone_matches[key]

    def relink(self, call: Call, customers: list[tuple[int, str]], *, had_links: bool) -> None:
        if had_links:
            through = Call.customers.through._meta.db_table
            rawsql.execute(f"DELETE FROM {through} WHERE call_id = %s", [call.pk])
        self.new_links[call.pk] = [pk for pk, _name in customers]
        self.customers[call.pk] = customers

    def later(self, sql: str, params: list) -> None:
        """Run this statement when the batch is written (with the others like it, at once)."""
        self.statements.setdefault(sql, []).append(params)

    def replace_rows(self, model: type, call_id: int, rows: list) -> None:
        self.derived_rows[(model, call_id)] = rows

    # --- agent states -----------------------------------------------------------------------

    def call_agents(self, call_id: int, named: int | None) -> dict[int, AgentStateInterval]:
        """The current states of the agents on the call and of the agent `named`, locked (what
        `presence.call_presence_apply` locks and reads)."""
        on_call = (
            f"id IN (SELECT agent_id FROM {AgentStateInterval._meta.db_table} "
            "WHERE call_id = %s AND ended_at IS NULL)"
        )
        if call_id not in self.calls_with_agents:
            if named:
                self.lock_agents(f"id = %s OR {on_call}", [named, call_id])
            else:
                self.lock_agents(on_call, [call_id])
            self.calls_with_agents.add(call_id)
        elif named and named not in self.locked_agents:
            self.lock_agents("id = %s", [named])
        found = {a: i for a, i in self.open.items() if i.call_id == call_id}
        if named and named in self.open:
            found[named] = self.open[named]
        return found

    def interval_closed(self, interval: AgentStateInterval) -> None:
        if interval.pk is not None:
            self.closed_intervals[interval.pk] = interval

    def interval_opened(self, interval: AgentStateInterval) -> None:
        self.new_intervals.append(interval)
        self.open[interval.agent_id] = interval

    # --- writing, once per batch ------------------------------------------------------------

    def flush(self) -> None:
        with rawsql.pipelined():
            self._write()

    def _write(self) -> None:
        rawsql.insert_many(self.new_calls, keys=True)
        written = set()
        for call in self.new_calls:
            call._state.adding = False
            written.add(call.pk)
        self.new_calls = []
        rawsql.insert_many(self.records, ignore_conflict=True)
        self.records = []
        through = Call.customers.through
        rawsql.insert_many(
            [
                through(call_id=call_id, customer_id=customer_id)
                for call_id, ids in self.new_links.items()
                for customer_id in ids
            ]
        )
        self.new_links = {}
        by_model: dict[type, dict[int, list]] = {}
        for (model, call_id), rows in self.derived_rows.items():
            by_model.setdefault(model, {})[call_id] = rows
        for model, rows_by_call in by_model.items():
            ids = sorted(rows_by_call)
            rawsql.execute_many(
                f"DELETE FROM {model._meta.db_table} WHERE call_id IN ({placeholders(ids)})", [ids]
            )
            rawsql.insert_many([row for rows in rows_by_call.values() for row in rows])
        self.derived_rows = {}
        by_fields: dict[tuple[str, ...], list[Call]] = {}
        for call_id, names in self.dirty.items():
            if call_id in written:
                continue
            by_fields.setdefault(tuple(sorted(names)), []).append(self.calls_by_id[call_id])
        for names, calls in by_fields.items():
            rawsql.update_many(calls, names)
        self.dirty = {}
        for sql, rows in self.statements.items():
            rawsql.execute_many(sql, rows)
        self.statements = {}
        # Ended first: an agent has one open state at a time (a partial unique index).
        rawsql.update_many(list(self.closed_intervals.values()), ["ended_at"])
        self.closed_intervals = {}
        # Written without reading back their ids: nothing uses them after the flush (an agent
        # event reads the states again, see `suspended`).
        rawsql.insert_many(self.new_intervals)
        self.new_intervals = []


@contextmanager
def applying(requests: Iterable[tuple[PbxConnection, list]]):
    """Apply within the block through a batch preloaded for `requests`, written at its end."""
    batch = Batch()
    batch.preload(requests)
    _local.batch = batch
    try:
        yield batch
        current().flush()  # the batch, or the one it became after an agent event
    finally:
        _local.batch = None
