"""Importing an Asterisk queue_log into the call log, through the same apply service as webhooks.

Event ids are derived from each line's content, so importing a file twice changes nothing, and
a file that overlaps an earlier one only adds what is new.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from contactcenter.tenancy.models import Company
from telephony.models import PbxConnection
from telephony.pbx.events import CallEvent
from telephony.pbx.queue_log import QueueLogStats, parse_lines
from telephony.presence import agent_event_apply
from telephony.services import call_event_apply


@dataclass
class QueueLogImport:
    applied: int = 0
    duplicates: int = 0
    agent_events: int = 0  # member, pause and ring-no-answer lines
    state_changes: int = 0  # of those, the ones that changed an agent's state
    problems: list[str] = field(default_factory=list)  # "line N: ..." for each unusable line
    stats: QueueLogStats = field(default_factory=QueueLogStats)


def queue_log_connection(company: Company) -> PbxConnection:
    """The company's queue_log source: imported calls are unique per connection and call id."""
    connection = PbxConnection.objects.filter(
        company=company, format=PbxConnection.Format.QUEUE_LOG
    ).first()
    if connection is None:
        connection = PbxConnection.objects.create(
            company=company,
            format=PbxConnection.Format.QUEUE_LOG,
            name=f"Asterisk queue_log ({company.slug})",
        )
    return connection


def queue_log_import(*, company: Company, lines: Iterable[str]) -> QueueLogImport:
    report = QueueLogImport()
    connection = queue_log_connection(company)
    for parsed in parse_lines(lines, stats=report.stats):
        if parsed.problem is not None:
            report.problems.append(str(parsed.problem))
            continue
        for event in parsed.events:
            if not isinstance(event, CallEvent):
                report.agent_events += 1
                report.state_changes += agent_event_apply(companies=[company], event=event).changed
                continue
            result = call_event_apply(connection=connection, event=event)
            report.duplicates += result.duplicate
            report.applied += not result.duplicate
    return report
