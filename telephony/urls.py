from django.urls import path

from telephony import views, workspace
from telephony.live_views import live
from telephony.routing_views import pbx_route
from telephony.webhooks import pbx_webhook

app_name = "telephony"
urlpatterns = [
    path("telephony/webhooks/<str:key>/", pbx_webhook, name="webhook"),
    path("telephony/calls/", views.call_list, name="call_list"),
    path("telephony/calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("telephony/calls/<int:pk>/recording/", views.call_recording, name="call_recording"),
    path("telephony/calls/<int:pk>/card/", workspace.call_card, name="call_card"),
    path("telephony/calls/<int:pk>/wrap-up/", workspace.call_wrap_up_view, name="call_wrap_up"),
    path("telephony/workspace/", workspace.workspace, name="workspace"),
    path("telephony/workspace/state/", workspace.workspace_state, name="workspace_state"),
    path("telephony/queue-log/import/", views.queue_log_upload, name="queue_log_upload"),
    path("telephony/route/<str:key>/", pbx_route, name="route"),
    path("telephony/live/", live, name="live"),
]
