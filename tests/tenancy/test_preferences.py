"""Needs `path("", include("contactcenter.tenancy.urls"))` in contactcenter/urls.py."""

from datetime import UTC, datetime

from django.urls import reverse

from contactcenter.tenancy.models import UserPreference
from crm.models import Priority, SLAPolicy
from crm.services.tickets import ticket_create


def test_preferences_url():
    assert reverse("tenancy:preferences") == "/preferences/"


def test_anonymous_is_sent_to_login(client):
    response = client.get("/preferences/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/preferences/"


def test_page_shows_empty_preferences_without_creating_them(client, agent):
    client.force_login(agent)

    response = client.get("/preferences/")

    assert response.status_code == 200
    assert '<a href="/preferences/">Preferences</a>' in response.content.decode()
    assert response.context["form"].initial == {"time_zone": "", "language": ""}
    assert "Times on this page are shown in Europe/Moscow." in response.content.decode()
    assert not UserPreference.objects.exists()


def test_user_saves_time_zone_and_language(client, agent):
    client.force_login(agent)

    response = client.post("/preferences/", {"time_zone": "Asia/Tokyo", "language": "ru"})
    page = client.get("/preferences/").content.decode()

    preference = UserPreference.objects.get(user=agent)
    assert response.status_code == 302
    assert response["Location"] == "/preferences/"
    assert (preference.time_zone, preference.language) == ("Asia/Tokyo", "ru")
    assert '<html lang="ru"' in page
    assert "Asia/Tokyo" in page


def test_saved_zone_is_used_for_times_on_other_pages(client, agent, company, customer):
    SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=30, resolution_minutes=120
    )
    ticket_create(
        company=company,
        customer=customer,
        subject="Due",
        assignee=agent,
        created_at=datetime(2039, 12, 31, 22, 0, tzinfo=UTC),
    )
    client.force_login(agent)

    client.post("/preferences/", {"time_zone": "America/New_York", "language": ""})
    html = client.get("/work/").content.decode()

    # 2040-01-01 00:00 UTC is 19:00 the evening before in New York (UTC-5 in winter).
    assert '<time datetime="2039-12-31T19:00:00-05:00">' in html


def test_unknown_time_zone_is_refused(client, agent):
    client.force_login(agent)

    response = client.post("/preferences/", {"time_zone": "Mars/Olympus", "language": "en"})

    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"] == [
        "Select a valid choice. Mars/Olympus is not one of the available choices."
    ]
    assert not UserPreference.objects.exists()


def test_clearing_the_zone_falls_back_to_the_company_zone(client, agent):
    UserPreference.objects.create(user=agent, time_zone="Asia/Tokyo", language="it")
    client.force_login(agent)

    client.post("/preferences/", {"time_zone": "", "language": ""})
    page = client.get("/preferences/").content.decode()

    assert UserPreference.objects.filter(user=agent, time_zone="", language="").count() == 1
    assert "Times on this page are shown in Europe/Moscow." in page


def test_each_user_changes_only_their_own_preferences(client, agent, outsider):
    UserPreference.objects.create(user=agent, time_zone="Asia/Tokyo", language="ru")
    client.force_login(outsider)

    client.post("/preferences/", {"time_zone": "Europe/Rome", "language": "it"})

    assert list(
        UserPreference.objects.order_by("user__username").values_list(
            "user__username", "time_zone", "language"
        )
    ) == [("agent", "Asia/Tokyo", "ru"), ("outsider", "Europe/Rome", "it")]
