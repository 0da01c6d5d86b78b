from django.urls import path
from django.views.generic import TemplateView

from crm.urls_import import urlpatterns as import_urlpatterns

app_name = "crm"
urlpatterns = [
    # Placeholder routes until the UI lands; replaced by crm.views.
    path("work/", TemplateView.as_view(template_name="base.html"), name="my_work"),
    path("customers/", TemplateView.as_view(template_name="base.html"), name="customer_list"),
    path("tickets/", TemplateView.as_view(template_name="base.html"), name="ticket_list"),
    *import_urlpatterns,
]
