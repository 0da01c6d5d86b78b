# Websocket routes of every app; the telephony screen-pop and the wallboard join here.
websocket_urlpatterns: list = []
