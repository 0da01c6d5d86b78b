from django.urls import path

from reporting.consumers import WallboardConsumer
from telephony.consumers import AgentConsumer, LiveConsumer

# Websocket routes of every app; the wallboard joins here.
websocket_urlpatterns: list = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
