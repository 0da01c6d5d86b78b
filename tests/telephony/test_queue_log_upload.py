"""The queue_log upload page: imports at once and shows what it did (applied, duplicates, agent
events, every unusable line by number); twice changes nothing; refuses what is not text; only
import roles, only their companies."""

import gzip
import html
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contactcenter.tenancy.models import Membership, Role
from telephony.models import Call, CallEventRecord, PbxConnection, Queue
from tests.conftest import make_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pbx" / "queue_log"
URL = "/telephony/queue-log/import/"


def upload(client, content: bytes, company="bank", name="queue_log"):
    return client.post(URL, {"company": company, "file": SimpleUploadedFile(name, content)})


def result(response) -> dict[str, str]:
    page = response.content.decode()
    return dict(
        re.findall(r'<td id="([a-z-]+)">([^<]*)</td>', page[page.index('id="import-result"') :])
    )


def problems(response) -> list[str]:
    page = response.content.decode()
    if 'id="problems"' not in page:
        return []
    listed = page[page.index('id="problems"') :].split("</ul>")[0]
    return [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", listed)]


@pytest.fixture
def queues(company):
    Queue.objects.create(company=company, name="Sales", code="vendite")
    Queue.objects.create(company=company, name="Support", code="assistenza")


def test_the_page_offers_the_users_import_companies(client, supervisor, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.AGENT)
    client.force_login(supervisor)
    response = client.get(URL)
    assert response.status_code == 200
    options = re.findall(r'<option value="([^"]*)"', response.content.decode())
    assert options == ["bank"]


def test_uploading_the_same_file_twice_applies_it_once(client, supervisor, queues):
    content = (FIXTURES / "overflow.log").read_bytes()
    client.force_login(supervisor)
    first = upload(client, content)
    assert first.status_code == 200
    assert result(first) == {
        "lines": "8",
        "applied": "5",
        "duplicates": "0",
        "agent-events": "2",
        "problem-count": "0",
        "open-calls": "0",
    }
    assert problems(first) == []
    call = Call.objects.get()
    assert (call.outcome, call.queue.code, call.queue_wait_seconds, call.talk_seconds) == (
        Call.Outcome.ANSWERED,
        "assistenza",
        72,
        228,
    )
    before = list(Call.objects.values())
    second = upload(client, content)
    assert result(second) == {
        "lines": "8",
        "applied": "0",
        "duplicates": "5",
        "agent-events": "2",
        "problem-count": "0",
        "open-calls": "0",
    }
    assert list(Call.objects.values()) == before
    assert CallEventRecord.objects.count() == 5
    assert "queue_log imported into Bank" in second.content.decode()


def test_every_unusable_line_is_shown_by_number(client, supervisor, queues):
    client.force_login(supervisor)
    response = upload(client, (FIXTURES / "garbage.log").read_bytes(), name="garbage.log")
    assert response.status_code == 200
    assert result(response)["problem-count"] == "16"
    assert problems(response) == [
        "line 3: CONNECT holdtime 'four' is not a whole number of seconds",
        "line 5: not enough fields",
        "line 6: not enough fields",
        "line 7: 'abc' is not a Unix time",
        "line 8: '2023-11-23 18:40:10' is not a Unix time",
        "line 10: ENTERQUEUE has no call id",
        "line 11: RINGNOANSWER ringtime '15 s' is not a whole number of milliseconds",
        "line 12: no event name",
        "line 13: PAUSE names no agent",
        "line 14: ATTENDEDTRANSFER method 'PARK' is unknown",
        "line 15: ENTERQUEUE names no queue",
        "line 16: COMPLETEAGENT calltime '7l' is not a whole number of seconds",
        "line 19: 'Enter Queue' is not an event name",
        "line 20: '1700700100.5.5' is not a Unix time",
        "line 21: ABANDON waittime '-2' is not a whole number of seconds",
        "line 22: '1700700120123' is not a Unix time",
    ]


def test_windows_line_endings_number_lines_the_same(client, supervisor, queues):
    content = (FIXTURES / "garbage.log").read_bytes().replace(b"\n", b"\r\n")
    client.force_login(supervisor)
    listed = problems(upload(client, content))
    assert len(listed) == 16
    assert listed[0].startswith("line 3: ") and listed[-1].startswith("line 22: ")


def test_bytes_that_are_not_utf8_are_replaced_and_reported(client, supervisor, queues):
    lines = (FIXTURES / "overflow.log").read_bytes().splitlines(keepends=True)
    # A caller name in a legacy code page (cp1251) on the ENTERQUEUE line.
    lines[1] = lines[1].replace(b"|3381234567|", "|Иван <3381234567>|".encode("cp1251"))
    client.force_login(supervisor)
    response = upload(client, b"".join(lines))
    assert result(response)["applied"] == "5"
    page = response.content.decode()
    assert "Line 2 held bytes that are not UTF-8: they were replaced by �." in page
    assert Call.objects.get().caller == "���� <3381234567>"


def test_a_compressed_file_is_refused_with_a_clear_error(client, supervisor, queues):
    client.force_login(supervisor)
    packed = gzip.compress((FIXTURES / "overflow.log").read_bytes())
    response = upload(client, packed, name="queue_log.1.gz")
    assert response.status_code == 200
    assert (
        "queue_log.1.gz is compressed (gzip): unpack it and upload the plain text."
        in response.content.decode()
    )
    assert 'id="import-result"' not in response.content.decode()
    assert (Call.objects.count(), PbxConnection.objects.count()) == (0, 0)


def test_a_binary_file_is_refused_with_a_clear_error(client, supervisor):
    client.force_login(supervisor)
    response = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", name="photo.png")
    assert (
        "photo.png is not a text file: a queue_log is plain text, one event per line."
        in response.content.decode()
    )
    assert (Call.objects.count(), PbxConnection.objects.count()) == (0, 0)


def test_an_empty_file_is_refused(client, supervisor):
    client.force_login(supervisor)
    response = upload(client, b"")
    assert "The submitted file is empty." in response.content.decode()
    assert PbxConnection.objects.count() == 0


def test_a_file_over_the_limit_is_refused(client, supervisor, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    client.force_login(supervisor)
    response = upload(client, b"1700300000|x|q|NONE|QUEUESTART|\n" * 40_000)
    assert "The file is larger than 1 MB." in response.content.decode()
    assert PbxConnection.objects.count() == 0


@pytest.mark.parametrize("role", [Role.AGENT, Role.CLIENT_MANAGER])
def test_roles_without_import_get_403_and_nothing_changes(client, company, role):
    user = make_user("reader", company, role)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    response = upload(client, (FIXTURES / "overflow.log").read_bytes())
    assert response.status_code == 403
    assert (Call.objects.count(), PbxConnection.objects.count()) == (0, 0)


def test_a_company_where_the_user_only_reads_gets_403(client, supervisor, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.AGENT)
    client.force_login(supervisor)
    response = upload(client, (FIXTURES / "overflow.log").read_bytes(), company="shop")
    assert response.status_code == 403
    assert (Call.objects.count(), PbxConnection.objects.count()) == (0, 0)


def test_another_companys_slug_reads_like_a_missing_one(client, outsider, company):
    client.force_login(outsider)
    content = (FIXTURES / "overflow.log").read_bytes()
    foreign = upload(client, content, company="bank")
    missing = upload(client, content, company="no-such-company")
    assert (foreign.status_code, foreign.content) == (404, missing.content)
    assert (Call.objects.count(), PbxConnection.objects.count()) == (0, 0)
