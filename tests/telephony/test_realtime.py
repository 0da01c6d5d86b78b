"""What the screens are sent: the links in it."""


def test_customer_links_follow_the_script_prefix_they_are_made_under():
    """Links are kept once made, per prefix: an application served under /cc/ links there."""
    from django.urls import get_script_prefix, set_script_prefix

    from telephony.realtime import customer_links

    before = get_script_prefix()
    try:
        assert customer_links([(7, "Ivan Petrov")]) == [
            {"id": 7, "name": "Ivan Petrov", "url": "/customers/7/"}
        ]
        set_script_prefix("/cc/")
        assert customer_links([(7, "Ivan Petrov"), (8, "Anna")]) == [
            {"id": 7, "name": "Ivan Petrov", "url": "/cc/customers/7/"},
            {"id": 8, "name": "Anna", "url": "/cc/customers/8/"},
        ]
    finally:
        set_script_prefix(before)
