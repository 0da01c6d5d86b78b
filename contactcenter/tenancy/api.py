"""Read-only API of the client companies the user belongs to, with the user's role in each."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from contactcenter.tenancy.models import Company, Role
from contactcenter.tenancy.scoping import companies_for, role_in


class CompanySerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text=_("Your role in this client company."))

    class Meta:
        model = Company
        fields = ["id", "name", "slug", "time_zone", "default_country", "role"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_role(self, company: Company) -> str | None:
        return role_in(self.context["request"].user, company.pk)


class CompanyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CompanySerializer
    queryset = Company.objects.none()  # replaced per request; names the model for the schema
    lookup_field = "slug"
    filter_backends: list = []

    def get_queryset(self):
        return companies_for(self.request.user).order_by("name", "id")
