from django.contrib import admin

from civicgrid.classifier.models import ClassifierModel, Suggestion


@admin.register(ClassifierModel)
class ClassifierModelAdmin(admin.ModelAdmin):
    """Read-only: models are trained, activated and rolled back through the services (the
    `classifier` command, the model page, the API), which audit every change."""

    list_display = ("version", "status", "source", "created_at", "activated_at")
    list_filter = ("status", "source")
    exclude = ("blob",)
    readonly_fields = [f.name for f in ClassifierModel._meta.fields if f.name != "blob"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ("case", "model", "suggested_category", "chosen_category", "accepted")
    list_filter = ("accepted", "model")
    raw_id_fields = ("case",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
