"""CSV/XLSX import and export of checklist items and risks (django-import-export).

Rows are matched on (programme key, item key), so re-importing an exported file updates
rather than duplicates. Export neutralises spreadsheet formulas
(IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT in settings).
"""

from django.contrib.auth import get_user_model
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget, IntegerWidget

from roadmap.models import ChecklistItem, Phase, Programme, Risk


class PhaseWidget(ForeignKeyWidget):
    """A phase by its number within the row's programme."""

    def __init__(self):
        super().__init__(Phase, field="number")

    def get_queryset(self, value, row, *args, **kwargs):
        return Phase.objects.filter(programme__key=row.get("programme"))


def _user_field(attribute: str, *, readonly: bool = False) -> fields.Field:
    return fields.Field(
        attribute=attribute,
        column_name=attribute,
        widget=ForeignKeyWidget(get_user_model(), field="username"),
        readonly=readonly,
    )


def _programme_field() -> fields.Field:
    return fields.Field(
        attribute="programme",
        column_name="programme",
        widget=ForeignKeyWidget(Programme, field="key"),
    )


class ChecklistItemResource(resources.ModelResource):
    programme = _programme_field()
    phase = fields.Field(attribute="phase", column_name="phase", widget=PhaseWidget())
    owner = _user_field("owner")
    completed_by = _user_field("completed_by", readonly=True)
    completed_at = fields.Field(attribute="completed_at", column_name="completed_at", readonly=True)

    class Meta:
        model = ChecklistItem
        import_id_fields = ("programme", "key")
        fields = (
            "programme",
            "key",
            "kind",
            "phase",
            "title",
            "order",
            "owner",
            "due_date",
            "status",
            "completed_by",
            "completed_at",
            "evidence_url",
            "notes",
        )
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_save_instance(self, instance, row, **kwargs):
        # An imported "done" is stamped with the importing user, like a tick in the admin.
        instance.stamp_completion(by=kwargs.get("user"))
        user = kwargs.get("user")
        if user is not None and user.is_authenticated:
            instance._history_user = user


class RiskResource(resources.ModelResource):
    programme = _programme_field()
    owner = _user_field("owner")
    # Numbers are exported as numbers (a spreadsheet can sort and sum them).
    likelihood = fields.Field(
        attribute="likelihood",
        column_name="likelihood",
        widget=IntegerWidget(coerce_to_string=False),
    )
    impact = fields.Field(
        attribute="impact", column_name="impact", widget=IntegerWidget(coerce_to_string=False)
    )
    score = fields.Field(
        attribute="score",
        column_name="score",
        readonly=True,
        widget=IntegerWidget(coerce_to_string=False),
    )

    class Meta:
        model = Risk
        import_id_fields = ("programme", "key")
        fields = (
            "programme",
            "key",
            "title",
            "category",
            "description",
            "likelihood",
            "impact",
            "score",
            "owner",
            "status",
            "review_date",
            "mitigation",
        )
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_save_instance(self, instance, row, **kwargs):
        user = kwargs.get("user")
        if user is not None and user.is_authenticated:
            instance._history_user = user
