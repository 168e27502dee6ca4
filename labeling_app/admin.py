"""Django admin for site staff."""
from django.contrib import admin

from labeling_app.importing.models import ImportJob
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Membership, Project, Response
from labeling_app.themes.models import Theme


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "question", "created_at"]  # names are unique per owner only
    search_fields = ["name", "question"]
    inlines = [MembershipInline]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "shortcut", "order", "archived"]
    list_filter = ["project", "archived"]
    search_fields = ["name"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["respondent_id", "project", "text"]
    list_filter = ["project"]
    search_fields = ["respondent_id", "text"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["response", "coder", "source", "is_current", "created_at"]
    list_filter = ["source", "is_current"]
    raw_id_fields = ["response", "supersedes"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["original_name", "project", "status", "created_at"]
    list_filter = ["status"]
