"""The lead's pages: inter-coder agreement (with CSV/XLSX downloads) and the disagreements to decide."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from labeling_app.core.http.params import id_list, id_param, required_id
from labeling_app.labeling.selectors.consensus import disagreements_list
from labeling_app.modeling.selectors.label_checks import label_checks_open
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.models import Role
from labeling_app.review.selectors.agreement import agreement_report
from labeling_app.review.selectors.autocode_check import autocode_check
from labeling_app.review.services.adjudication import disagreement_resolve, disagreement_send_back
from labeling_app.review.services.agreement_export import agreement_csv_render, agreement_xlsx_render
from labeling_app.review.services.label_checks import label_check_decide
from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_update


@login_required
def agreement_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Themes by alpha (lowest first), the coder x coder kappa matrix, alpha over time, the model as a coder.
    Leads and admins sharpen a theme's description here (POST)."""
    membership = page_membership(request, project_id, Role.LEAD)
    project = membership.project
    if request.method == "POST":
        theme = get_object_or_404(project.themes, pk=required_id(request.POST, "theme"))
        try:
            theme_update(theme=theme, description=request.POST.get("description", "").strip()[:2000])
            messages.success(request, f"Description of “{theme.name}” saved.")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return redirect("agreement", project_id=project.pk)
    report = agreement_report(project=project)
    kappa = {(p["coder_a"], p["coder_b"]): p for p in report["pairs"]}
    matrix = [{"coder": a, "cells": [kappa.get((a["coder"], b["coder"])) or kappa.get((b["coder"], a["coder"]))
                                     if a["coder"] != b["coder"] else "self" for b in report["coders"]]}
              for a in report["coders"]]
    context = {"project": project, "membership": membership, "report": report, "matrix": matrix,
               "autocode": autocode_check(project=project), **role_flags(membership)}
    return render(request, "labeling_app/review/agreement.html", context)


@login_required
def agreement_download(request: AuthenticatedHttpRequest, project_id: int, fmt: str) -> HttpResponse:
    """The agreement figures per theme and the pair kappas as CSV or XLSX."""
    project = page_membership(request, project_id, Role.LEAD).project
    if fmt not in ("csv", "xlsx"):
        raise Http404("download as .csv or .xlsx")
    report = agreement_report(project=project)
    if fmt == "xlsx":
        body, kind = agreement_xlsx_render(report), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, kind = agreement_csv_render(report).encode("utf-8-sig"), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="agreement-{project.pk}.{fmt}"'
    return response


@login_required
def disagreements_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Each unresolved disagreement with every coder's themes side by side; the lead decides or sends it back."""
    membership = page_membership(request, project_id, Role.LEAD)
    project = membership.project
    if request.method == "POST":
        response_id = id_param(request.POST, "response")
        comment = request.POST.get("comment", "")[:2000]
        try:
            if response_id is None:
                raise ValidationError("choose a response")
            if request.POST.get("action") == "send_back":
                disagreement_send_back(project=project, lead=request.user, response_id=response_id, comment=comment)
                messages.success(request, "Sent back to its coders.")
            else:
                theme_ids = id_list([t for t in request.POST.getlist("theme") if t.strip()], "theme")
                # The page's script sets no_theme once the lead confirmed that no theme applies.
                disagreement_resolve(project=project, lead=request.user, response_id=response_id,
                                     theme_ids=theme_ids, comment=comment,
                                     confirm_empty=request.POST.get("no_theme") == "1")
                messages.success(request, "Resolved: the model will learn the final themes." if theme_ids else
                                 "Resolved to no theme: the model will learn that none applies.")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return redirect(request.get_full_path())
    theme_id = id_param(request.GET, "theme")
    themes = list(project.themes.filter(archived=False).order_by("order", "pk"))
    names = {t.pk: t for t in project.themes.all()}
    rows = disagreements_list(project=project, theme_id=theme_id)
    for row in rows:
        for coder, mark in zip(row["coders"], _coder_marks([c["name"] for c in row["coders"]]), strict=True):
            coder["mark"] = mark
            coder["theme_objects"] = [names[t] for t in coder["themes"] if t in names]
        row["picks"], row["other_themes"] = _theme_picks(row, themes)
    context = {"project": project, "membership": membership, "rows": rows, "themes": themes,
               "focus": names.get(theme_id) if theme_id else None, **role_flags(membership)}
    return render(request, "labeling_app/review/disagreements.html", context)


def _coder_marks(names: list[str]) -> list[str]:
    """Short marks for a card's coders, shown beside the themes each chose: the fewest leading letters of their
    names that tell them apart ("A", "B"; "Ana", "And")."""
    longest = max((len(n) for n in names), default=0)
    for k in range(1, longest + 1):
        marks = [n[:k].capitalize() for n in names]
        if len(set(marks)) == len(marks):
            return marks
    return [f"{n} ({i})" for i, n in enumerate(names, start=1)]  # the same name twice


def _theme_picks(row: dict, themes: list[Theme]) -> tuple[list[dict], list[Theme]]:
    """A card's live themes for the lead to pick from: those any coder chose first (the agreed ones, pre-ticked,
    ahead of the contested ones; codebook order within each), with who chose each; then all the others."""
    chosen_by: dict[int, list[dict]] = {}
    for coder in row["coders"]:
        for theme_id in coder["themes"]:
            chosen_by.setdefault(theme_id, []).append(coder)
    agreed = set(row["agreed"])
    picks = [{"theme": t, "coders": chosen_by[t.pk], "agreed": t.pk in agreed} for t in themes if t.pk in chosen_by]
    picks.sort(key=lambda p: not p["agreed"])  # stable: codebook order kept within each group
    return picks, [t for t in themes if t.pk not in chosen_by]


LABEL_CHECKS_SHOWN = 20  # a page a lead works through; the next ones show as these are answered


@login_required
def label_checks_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """"Check labels": human-coded responses the model most disagrees with; the lead confirms the codes or fixes
    them (POST)."""
    membership = page_membership(request, project_id, Role.LEAD)
    project = membership.project
    if request.method == "POST":
        response_id = id_param(request.POST, "response")
        try:
            if response_id is None:
                raise ValidationError("choose a response")
            if request.POST.get("action") == "fix":
                theme_ids = id_list([t for t in request.POST.getlist("theme") if t.strip()], "theme")
                label_check_decide(project=project, lead=request.user, response_id=response_id, theme_ids=theme_ids,
                                   confirm_empty=request.POST.get("no_theme") == "1")
                messages.success(request, "Fixed: the model will learn the new themes.")
            else:
                label_check_decide(project=project, lead=request.user, response_id=response_id)
                messages.success(request, "Codes confirmed.")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return redirect(request.get_full_path())
    rows = label_checks_open(project=project, limit=LABEL_CHECKS_SHOWN)
    themes = list(project.themes.filter(archived=False).order_by("order", "pk"))
    for row in rows:
        given = {t["id"] for t in row["given"]}
        row["picks"] = [{"theme": t, "checked": t.pk in given} for t in themes]
    context = {"project": project, "membership": membership, "rows": rows, "model": project.current_model,
               **role_flags(membership)}
    return render(request, "labeling_app/review/label_checks.html", context)
