from django.urls import path

from contactcenter.tenancy import views

app_name = "tenancy"
urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
]
