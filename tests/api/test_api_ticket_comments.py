from datetime import UTC, datetime

from rest_framework.test import APIClient

from crm.models import Ticket, TicketComment
from crm.services.tickets import ticket_comment_add


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_comments_are_listed_oldest_first(client_manager, agent, ticket):
    ticket_comment_add(
        ticket=ticket, author=agent, body="Called back", now=datetime(2026, 3, 2, 10, tzinfo=UTC)
    )
    ticket_comment_add(
        ticket=ticket,
        author=agent,
        body="Your card is unblocked",
        is_internal=False,
        now=datetime(2026, 3, 2, 11, tzinfo=UTC),
    )

    response = api(client_manager).get(f"/api/tickets/{ticket.pk}/comments/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(c["body"], c["is_internal"], c["author"], c["ticket"]) for c in body["results"]] == [
        ("Called back", True, agent.pk, ticket.pk),
        ("Your card is unblocked", False, agent.pk, ticket.pk),
    ]
    # Shown in the manager's zone: the bank's Moscow time.
    assert body["results"][0]["created_at"] == "2026-03-02T13:00:00+03:00"


def test_comment_is_an_internal_note_by_default(agent, ticket):
    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/comments/", {"body": " Checked the card "}, format="json"
    )

    assert response.status_code == 201
    comment = TicketComment.objects.get()
    assert (comment.body, comment.is_internal, comment.author) == ("Checked the card", True, agent)
    assert response.json()["id"] == comment.pk
    assert response.json()["is_internal"] is True
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None


def test_form_post_without_the_checkbox_stays_internal(agent, ticket):
    response = api(agent).post(f"/api/tickets/{ticket.pk}/comments/", {"body": "Note"})

    assert response.status_code == 201
    assert TicketComment.objects.get().is_internal is True


def test_first_reply_to_the_customer_is_the_first_response(agent, ticket):
    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/comments/",
        {"body": "We are on it", "is_internal": False},
        format="json",
    )

    assert response.status_code == 201
    ticket.refresh_from_db()
    comment = TicketComment.objects.get()
    assert comment.is_internal is False
    assert ticket.first_response_at == comment.created_at
    assert ticket.status == "open"


def test_empty_comment_is_refused(agent, ticket):
    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/comments/", {"body": "   "}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"body": ["This field may not be blank."]}
    assert TicketComment.objects.count() == 0


def test_comments_of_a_missing_ticket_are_404(agent, ticket):
    assert api(agent).get("/api/tickets/999999/comments/").status_code == 404
    assert (
        api(agent).post("/api/tickets/999999/comments/", {"body": "x"}, format="json").status_code
        == 404
    )
