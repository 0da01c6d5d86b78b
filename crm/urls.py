from django.urls import path

from crm import views
from crm.urls_import import urlpatterns as import_urlpatterns

app_name = "crm"
urlpatterns = [
    path("work/", views.my_work, name="my_work"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/notes/", views.customer_note_add, name="customer_note_add"),
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/edit/", views.ticket_edit, name="ticket_edit"),
    path("tickets/<int:pk>/transition/", views.ticket_transition, name="ticket_transition"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/escalate/", views.ticket_escalate, name="ticket_escalate"),
    path("tickets/<int:pk>/comments/", views.ticket_comment_add, name="ticket_comment_add"),
    *import_urlpatterns,
]
