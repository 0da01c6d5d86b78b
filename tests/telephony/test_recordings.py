"""Recordings: who may play them (one rule, per role), every play written to the audit trail
before the redirect to the PBX's file, and nothing written for anyone refused."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from contactcenter.tenancy.models import Membership, Role
from telephony.models import Agent, Call, PbxConnection, RecordingPlay
from telephony.permissions import can_play_recording, can_see_recording_audit
from tests.conftest import make_user

RECORDING = "https://pbx.example.com/recordings/c1.wav"


@pytest.fixture
def handled(company, agent):
    """A call answered by the `agent` fixture, with a recording."""
    pbx = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    return Call.objects.create(
        company=company,
        connection=pbx,
        pbx_call_id="c1",
        caller="+79161234567",
        caller_e164="+79161234567",
        agent=Agent.objects.create(company=company, user=agent),
        outcome=Call.Outcome.ANSWERED,
        offered_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        recording_url=RECORDING,
    )


@pytest.fixture
def colleague(company, team):
    return make_user("boris", company, Role.AGENT, team)


@pytest.fixture
def users(agent, colleague, supervisor, client_manager, admin_user, outsider):
    return {
        "agent on the call": agent,
        "another agent": colleague,
        "supervisor": supervisor,
        "client manager": client_manager,
        "admin": admin_user,
        "outsider": outsider,
    }


PLAY_RULE = {
    "agent on the call": True,
    "another agent": False,
    "supervisor": True,
    "client manager": True,
    "admin": True,
    "outsider": False,
}


@pytest.mark.parametrize("who", sorted(PLAY_RULE))
def test_the_play_rule_per_role(handled, users, who):
    call = Call.objects.select_related("agent").get(pk=handled.pk)
    assert can_play_recording(users[who], call) is PLAY_RULE[who]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("agent on the call", False),
        ("another agent", False),
        ("supervisor", True),
        ("client manager", False),
        ("admin", True),
        ("outsider", False),
    ],
)
def test_who_sees_the_audit_trail(handled, users, who, expected):
    assert can_see_recording_audit(users[who], handled) is expected


EXPECTED_STATUS = {
    "agent on the call": 302,
    "another agent": 403,
    "supervisor": 302,
    "client manager": 302,
    "admin": 302,
    "outsider": 404,
}


@pytest.mark.parametrize("who", sorted(EXPECTED_STATUS))
def test_playing_writes_the_audit_row_then_redirects_only_when_permitted(
    client, handled, users, who
):
    user = users[who]
    client.force_login(user)
    before = timezone.now()
    response = client.get(f"/telephony/calls/{handled.pk}/recording/", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == EXPECTED_STATUS[who]
    if response.status_code == 302:
        assert response["Location"] == RECORDING
        assert "no-store" in response["Cache-Control"]
        play = RecordingPlay.objects.get()
        assert (play.company_id, play.call_id, play.user_id, play.remote_addr) == (
            handled.company_id,
            handled.pk,
            user.pk,
            "203.0.113.7",
        )
        assert before <= play.played_at <= timezone.now()
    else:
        assert RecordingPlay.objects.count() == 0


def test_every_play_is_a_row(client, handled, supervisor):
    client.force_login(supervisor)
    for _ in range(3):
        assert client.get(f"/telephony/calls/{handled.pk}/recording/").status_code == 302
    assert RecordingPlay.objects.filter(call=handled, user=supervisor).count() == 3


def test_an_outsiders_request_reads_like_a_missing_call_and_writes_nothing(
    client, handled, outsider
):
    client.force_login(outsider)
    foreign = client.get(f"/telephony/calls/{handled.pk}/recording/")
    missing = client.get("/telephony/calls/999999/recording/")
    assert (foreign.status_code, foreign.content) == (404, missing.content)
    assert RecordingPlay.objects.count() == 0


def test_a_call_without_recording_answers_404_and_writes_nothing(client, handled, supervisor):
    Call.objects.filter(pk=handled.pk).update(recording_url="")
    client.force_login(supervisor)
    assert client.get(f"/telephony/calls/{handled.pk}/recording/").status_code == 404
    assert RecordingPlay.objects.count() == 0


def test_an_anonymous_request_is_sent_to_log_in(client, handled):
    response = client.get(f"/telephony/calls/{handled.pk}/recording/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert RecordingPlay.objects.count() == 0


def test_a_post_is_refused(client, handled, supervisor):
    client.force_login(supervisor)
    assert client.post(f"/telephony/calls/{handled.pk}/recording/").status_code == 405
    assert RecordingPlay.objects.count() == 0


def test_an_agent_who_supervises_elsewhere_still_only_plays_own_calls_here(
    client, handled, colleague, other_company
):
    Membership.objects.create(user=colleague, company=other_company, role=Role.SUPERVISOR)
    client.force_login(colleague)
    assert client.get(f"/telephony/calls/{handled.pk}/recording/").status_code == 403
    assert RecordingPlay.objects.count() == 0


# --- The player and the audit list on the call's page -----------------------------------------

PLAYER = '<audio controls preload="none" src="/telephony/calls/{}/recording/"></audio>'


def test_the_page_has_the_player_and_the_audit_list_for_a_supervisor(
    client, handled, supervisor, agent
):
    RecordingPlay.objects.create(
        company=handled.company, call=handled, user=agent, remote_addr="198.51.100.4"
    )
    client.force_login(supervisor)
    html = client.get(f"/telephony/calls/{handled.pk}/").content.decode()
    assert PLAYER.format(handled.pk) in html
    # The PBX's address is reached only through the audited endpoint.
    assert RECORDING not in html
    plays = html[html.index('<table id="recording-plays">') :].split("</table>")[0]
    assert "Anna" in plays and "198.51.100.4" in plays
    # Opening the page played nothing.
    assert RecordingPlay.objects.count() == 1


@pytest.mark.parametrize("who", ["agent on the call", "client manager"])
def test_the_player_without_the_audit_list(client, handled, users, who):
    client.force_login(users[who])
    html = client.get(f"/telephony/calls/{handled.pk}/").content.decode()
    assert PLAYER.format(handled.pk) in html
    assert "recording-plays" not in html
    assert "Played by" not in html


def test_nobody_played_yet(client, handled, admin_user):
    client.force_login(admin_user)
    html = client.get(f"/telephony/calls/{handled.pk}/").content.decode()
    assert "Nobody has played this recording yet." in html


# --- The Django admin: read-only, scoped --------------------------------------------------------


def test_the_admin_lists_plays_read_only(client, handled, admin_user, agent):
    play = RecordingPlay.objects.create(
        company=handled.company, call=handled, user=agent, remote_addr="198.51.100.4"
    )
    client.force_login(admin_user)
    listing = client.get("/admin/telephony/recordingplay/")
    assert listing.status_code == 200
    assert "198.51.100.4" in listing.content.decode()
    assert client.get("/admin/telephony/recordingplay/add/").status_code == 403
    page = client.get(f"/admin/telephony/recordingplay/{play.pk}/change/")
    assert page.status_code == 200
    assert 'name="remote_addr"' not in page.content.decode()
    response = client.post(f"/admin/telephony/recordingplay/{play.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert RecordingPlay.objects.count() == 1


def test_the_admin_hides_other_companies_plays(client, handled, agent, outsider):
    play = RecordingPlay.objects.create(
        company=handled.company, call=handled, user=agent, remote_addr="198.51.100.4"
    )
    Membership.objects.filter(user=outsider).update(role=Role.ADMIN)
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    assert client.get(f"/admin/telephony/recordingplay/{play.pk}/change/").status_code == 404
    assert "198.51.100.4" not in client.get("/admin/telephony/recordingplay/").content.decode()
