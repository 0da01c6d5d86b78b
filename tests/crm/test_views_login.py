from tests.conftest import PASSWORD


def test_login_page_renders_in_the_back_office_frame(client):
    response = client.get("/accounts/login/?next=/customers/")
    html = response.content.decode()

    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["registration/login.html", "base.html"]
    assert '<form action="/accounts/login/" method="post" id="login-form">' in html
    assert '<input type="hidden" name="next" value="/customers/">' in html
    assert 'class="app-nav"' not in html  # no navigation before signing in


def test_login_with_the_right_password_goes_to_next(client, agent):
    response = client.post(
        "/accounts/login/",
        {"username": "agent", "password": PASSWORD, "next": "/customers/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200


def test_login_without_next_goes_to_my_work(client, agent):
    response = client.post("/accounts/login/", {"username": "agent", "password": PASSWORD})

    assert response["Location"] == "/work/"


def test_wrong_password_is_refused_on_the_form(client, agent):
    response = client.post("/accounts/login/", {"username": "agent", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, agent):
    client.force_login(agent)
    page = client.get("/work/").content.decode()

    response = client.post("/accounts/logout/")

    assert '<form id="logout-form" method="post" action="/accounts/logout/">' in page
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/work/").status_code == 302
