"""Customer import and export pages (spliced into crm.urls, so names are crm:<name>)."""

from django.urls import path

from crm import views_import as views

urlpatterns = [
    path("customers/import/", views.customer_import, name="customer_import"),
    path("customers/import/<int:pk>/", views.customer_import_detail, name="customer_import_detail"),
    path(
        "customers/import/<int:pk>/mapping/",
        views.customer_import_mapping,
        name="customer_import_mapping",
    ),
    path(
        "customers/import/<int:pk>/status/",
        views.customer_import_status_json,
        name="customer_import_status",
    ),
    path(
        "customers/import/<int:pk>/bad-rows.csv",
        views.customer_import_errors,
        name="customer_import_errors",
    ),
    path("customers/imports/", views.customer_import_list, name="customer_import_list"),
    path("customers/export/", views.customer_export, name="customer_export"),
]
