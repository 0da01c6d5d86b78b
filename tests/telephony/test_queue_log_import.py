from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from telephony.derive import Outcome
from telephony.models import Call, CallEventRecord, Queue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pbx" / "queue_log"


def run(path, company="bank"):
    out, err = StringIO(), StringIO()
    call_command("import_queue_log", str(path), "--company", company, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_an_overflow_imports_as_one_answered_call_and_twice_changes_nothing(company):
    Queue.objects.create(company=company, name="Sales", code="vendite")
    assistenza = Queue.objects.create(company=company, name="Support", code="assistenza")
    out, err = run(FIXTURES / "overflow.log")
    assert err == ""
    assert out == (
        "8 lines: 5 call events applied, 0 already imported, 2 agent events, "
        "0 unusable lines, 0 calls still open"
    )
    call = Call.objects.get()
    # 60 s in the first queue, 12 s in the second, then 228 s of talk.
    assert (call.outcome, call.queue, call.queue_wait_seconds, call.talk_seconds) == (
        Outcome.ANSWERED,
        assistenza,
        72,
        228,
    )
    assert call.did == "0287654321"
    before = list(Call.objects.values())
    out, _ = run(FIXTURES / "overflow.log")
    assert out.startswith("8 lines: 0 call events applied, 5 already imported")
    assert list(Call.objects.values()) == before
    assert CallEventRecord.objects.count() == 5


def test_unusable_lines_are_reported_by_number(company):
    out, err = run(FIXTURES / "garbage.log")
    assert err.splitlines()[0].startswith("line ")
    assert f"{len(err.splitlines())} unusable lines" in out


def test_an_unknown_company_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="no client company with the slug 'nope'"):
        run(tmp_path / "x.log", company="nope")


def test_a_missing_file_is_refused(company, tmp_path):
    with pytest.raises(CommandError, match="No such file or directory"):
        run(tmp_path / "missing.log")


def test_an_overflow_is_kept_as_a_visit_of_the_first_queue(company):
    from telephony.models import QueueVisit

    vendite = Queue.objects.create(company=company, name="Sales", code="vendite")
    Queue.objects.create(company=company, name="Support", code="assistenza")
    run(FIXTURES / "overflow.log")
    run(FIXTURES / "overflow.log")  # a re-import changes nothing
    (visit,) = QueueVisit.objects.all()
    # 60 s in vendite before the call moved on to assistenza (where it was answered after 12 s).
    assert (visit.queue, visit.wait_seconds, visit.call_id) == (vendite, 60, Call.objects.get().pk)
