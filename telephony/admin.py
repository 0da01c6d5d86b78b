from django.contrib import admin

from contactcenter.tenancy.admin import (
    ScopedModelAdmin,
    TenantAdmin,
    TenantInline,
    admin_company_ids,
)
from telephony.models import (
    Agent,
    AgentSkill,
    BlockedNumber,
    Call,
    CallEventRecord,
    DidRoute,
    Disposition,
    Extension,
    InboundRequest,
    PauseReason,
    PbxConnection,
    Queue,
    RecordingPlay,
)


@admin.register(PbxConnection)
class PbxConnectionAdmin(ScopedModelAdmin):
    """A company's administrators manage its own connections; shared ones are superusers'."""

    list_display = ("name", "company", "format", "key", "is_active")
    list_filter = ("format", "is_active")
    readonly_fields = ("key", "created_at")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(company_id__in=admin_company_ids(request))


@admin.register(DidRoute)
class DidRouteAdmin(TenantAdmin):
    list_display = ("did", "company", "connection", "queue")
    search_fields = ("did",)


@admin.register(Queue)
class QueueAdmin(TenantAdmin):
    list_display = ("name", "code", "company", "service_level_seconds", "short_abandon_seconds")
    search_fields = ("name", "code")
    filter_horizontal = ("skills",)


class AgentSkillInline(TenantInline, admin.TabularInline):
    model = AgentSkill
    extra = 0


class ExtensionInline(TenantInline, admin.TabularInline):
    model = Extension
    extra = 0
    fields = ("number",)


@admin.register(Agent)
class AgentAdmin(TenantAdmin):
    list_display = ("user", "company")
    search_fields = ("user__username", "user__first_name", "user__last_name", "extensions__number")
    filter_horizontal = ("teams",)
    inlines = (ExtensionInline, AgentSkillInline)

    def save_formset(self, request, form, formset, change):
        # Extensions carry the agent's company: the inline form does not ask for it.
        for instance in formset.save(commit=False):
            if isinstance(instance, Extension):
                instance.company_id = form.instance.company_id
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Disposition)
class DispositionAdmin(TenantAdmin):
    list_display = ("label", "code", "company", "resolves_contact", "is_active")


@admin.register(PauseReason)
class PauseReasonAdmin(TenantAdmin):
    list_display = ("label", "code", "company")


@admin.register(BlockedNumber)
class BlockedNumberAdmin(TenantAdmin):
    list_display = ("e164", "company", "reason", "created_at")
    search_fields = ("e164",)


class CallEventInline(TenantInline, admin.TabularInline):
    model = CallEventRecord
    extra = 0
    can_delete = False
    fields = ("occurred_at", "kind", "event_id", "data")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(TenantAdmin):
    """The call log is written by PBX events only: read-only here."""

    list_display = (
        "pbx_call_id",
        "company",
        "direction",
        "caller",
        "queue",
        "agent",
        "outcome",
        "offered_at",
    )
    list_filter = (*TenantAdmin.list_filter, "direction", "outcome")
    search_fields = ("pbx_call_id", "caller", "caller_e164", "callee")
    date_hierarchy = "offered_at"
    inlines = (CallEventInline,)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["customers"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundRequest)
class InboundRequestAdmin(ScopedModelAdmin):
    """The raw webhook log, for tracing what a PBX sent; read-only."""

    list_display = ("received_at", "connection", "status", "content_type", "remote_addr")
    list_filter = ("status",)
    readonly_fields = (
        "connection",
        "received_at",
        "remote_addr",
        "content_type",
        "headers",
        "body",
        "status",
        "error",
    )

    def _company_id_of(self, obj):
        return obj.connection.company_id if obj.connection_id else None

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("connection")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(connection__company_id__in=admin_company_ids(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RecordingPlay)
class RecordingPlayAdmin(TenantAdmin):
    """The recordings' audit trail: written only by playing a recording, never edited."""

    list_display = ("played_at", "company", "call", "user", "remote_addr")
    list_select_related = ("company", "call", "user")
    search_fields = ("call__pbx_call_id", "user__username", "remote_addr")
    date_hierarchy = "played_at"
    readonly_fields = ("company", "call", "user", "played_at", "remote_addr")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
