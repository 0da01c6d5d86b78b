"""API entrances for customer import and export (included before the router, so that
"customers/import/" and "customers/export/" are not read as customer ids)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from contactcenter.tenancy.models import IMPORT_ROLES
from contactcenter.tenancy.scoping import company_from_param, get_scoped_or_404, require_role
from crm import exports
from crm.imports import (
    FINISHED,
    customer_import_create,
    customer_import_start,
    customer_import_status,
)
from crm.models import CustomerImport


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv (UTF-8, `,` or `;`) or .xlsx file.")
    company = serializers.SlugField(help_text="The slug of the client company to import into.")
    mapping = serializers.JSONField(
        required=False,
        binary=True,
        help_text=(
            'JSON object {"column header": "field"} laid over the guessed mapping; "" ignores '
            "a column. Fields: external_id, kind, first_name, middle_name, last_name, "
            "organisation_name, phone, phone_home, phone_work, phone_other, email, tags, "
            "address, city, postal_code, country, time_zone, language, marketing_consent, "
            "do_not_call, owner, custom:<key>."
        ),
    )


class ImportProblemSerializer(serializers.Serializer):
    column = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="As a spreadsheet numbers it: the header is row 1.")
    values = serializers.ListField(child=serializers.CharField())
    problems = ImportProblemSerializer(many=True)


class ImportStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=CustomerImport.State.choices)
    state_label = serializers.CharField()
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    percent = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    bad_rows = serializers.IntegerField()
    finished = serializers.BooleanField()
    message = serializers.CharField()
    company = serializers.CharField()
    file_name = serializers.CharField()
    mapping = serializers.DictField(child=serializers.CharField())
    errors = ImportErrorSerializer(many=True)
    url = serializers.CharField()


def _payload(request, customer_import: CustomerImport) -> dict:
    return {
        **customer_import_status(customer_import),
        "company": customer_import.company.slug,
        "file_name": customer_import.original_name,
        "mapping": {entry["column"]: entry["field"] for entry in customer_import.mapping},
        "errors": customer_import.errors,
        "url": request.build_absolute_uri(
            reverse("api-customer-import-detail", args=[customer_import.pk])
        ),
    }


class CustomerImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Import customers from a CSV or XLSX file",
        description=(
            "Needs a supervisor or administrator role in the company. A small file is imported "
            "at once (201); a file with more rows than IMPORT_SYNC_MAX_ROWS runs in the "
            "background (202): poll the returned url. Good rows go in together (all or "
            "nothing); bad rows are listed by row number with their problems."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            201: ImportStatusSerializer,
            202: ImportStatusSerializer,
            400: OpenApiResponse(description="A bad file, company or mapping; nothing stored."),
            403: OpenApiResponse(description="Your role in this company may not import."),
            404: OpenApiResponse(description="No such company among yours."),
        },
    )
    def post(self, request):
        # The company is resolved before anything else is read: a stranger learns nothing.
        company = company_from_param(request.user, request.data.get("company") or None)
        if company is not None:
            require_role(request.user, company.pk, IMPORT_ROLES)
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = serializer.validated_data.get("mapping") or {}
        try:
            customer_import = customer_import_create(
                company=company,
                upload=serializer.validated_data["file"],
                user=request.user,
                mapping=mapping,
            )
            customer_import = customer_import_start(
                customer_import=customer_import, mapping=mapping, merge_guess=True
            )
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"mapping": exc.messages}
            raise serializers.ValidationError(detail) from None
        customer_import.refresh_from_db()
        finished = customer_import.state in FINISHED
        return Response(
            _payload(request, customer_import),
            status=status.HTTP_201_CREATED if finished else status.HTTP_202_ACCEPTED,
        )


class CustomerImportDetailView(APIView):
    @extend_schema(
        summary="Show an import's state, counts and bad rows", responses=ImportStatusSerializer
    )
    def get(self, request, pk: int):
        customer_import = get_scoped_or_404(
            CustomerImport.objects.select_related("company"), request.user, pk=pk
        )
        require_role(request.user, customer_import.company_id, IMPORT_ROLES)
        return Response(_payload(request, customer_import))


class CustomerExportView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # "format" names the file to produce here, not DRF's renderer switch; errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="Export customers as CSV or XLSX",
        description=(
            "The customers of your companies where your role may export (supervisor, client "
            "manager, administrator), filtered like the customer list. CSV is UTF-8 with a BOM "
            "and streamed."
        ),
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(exports.FORMATS)),
            OpenApiParameter("company", OpenApiTypes.STR, description="A company slug."),
            OpenApiParameter("q", OpenApiTypes.STR, description="Name, phone or e-mail."),
            OpenApiParameter("delimiter", OpenApiTypes.STR, enum=list(exports.DELIMITERS)),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        file_format = request.query_params.get("format", "csv")
        if file_format not in exports.FORMATS:
            raise serializers.ValidationError(
                {
                    "format": [
                        _("Unknown export format %(format)s: use csv or xlsx.")
                        % {"format": file_format}
                    ]
                }
            )
        return exports.export_response(
            request._request,
            user=request.user,
            file_format=file_format,
            company_slug=request.query_params.get("company", ""),
            query=request.query_params.get("q", ""),
            delimiter=exports.DELIMITERS.get(request.query_params.get("delimiter", ""), ","),
        )


urlpatterns = [
    path("customers/import/", CustomerImportView.as_view(), name="api-customer-import"),
    path(
        "customers/import/<int:pk>/",
        CustomerImportDetailView.as_view(),
        name="api-customer-import-detail",
    ),
    path("customers/export/", CustomerExportView.as_view(), name="api-customer-export"),
]
