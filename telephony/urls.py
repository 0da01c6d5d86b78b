from django.urls import path

from telephony.webhooks import pbx_webhook

app_name = "telephony"
urlpatterns = [
    path("telephony/webhooks/<str:key>/", pbx_webhook, name="webhook"),
]
