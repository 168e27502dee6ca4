"""Discovery pages: runs and cluster cards, one cluster's members, the map, and "more like this"."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from labeling_app.core.http.params import (
    MAX_CLUSTERS,
    MAX_MIN_CLUSTER_SIZE,
    InvalidParam,
    clamped_int,
    id_list,
    id_param,
    int_param,
    json_object,
    required_id,
)
from labeling_app.core.progress import progress_get
from labeling_app.discovery.models import Cluster, DiscoveryRun
from labeling_app.discovery.selectors import (
    cluster_members,
    clusters_active,
    discovery_run_latest,
    map_points_json,
    responses_similar,
    theme_response_ids,
)
from labeling_app.discovery.services import (
    cluster_action_undo,
    cluster_make_theme,
    cluster_merge,
    cluster_split,
    cluster_update,
    discovery_run_request,
    responses_move,
)
from labeling_app.labeling.selectors.responses import responses_themes, viewer_blind_for
from labeling_app.labeling.services.annotations import annotations_add_theme
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags
from labeling_app.projects.models import Role


def _errors(request: AuthenticatedHttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def clusters_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Start runs, compare them, and act on the clusters of one run."""
    membership = page_membership(request, project_id)
    project = membership.project
    runs = list(DiscoveryRun.objects.filter(project=project)[:20])
    run_id = id_param(request.GET, "run")
    run = (next((r for r in runs if r.pk == run_id and r.status == "succeeded"), None) if run_id
           else discovery_run_latest(project=project))
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "start":
                discovery_run_request(project=project, user=request.user,
                                      n_clusters=int_param(request.POST, "n_clusters", min_value=2,
                                                           max_value=MAX_CLUSTERS),
                                      min_cluster_size=int_param(request.POST, "min_cluster_size",
                                                                 max_value=MAX_MIN_CLUSTER_SIZE))
                messages.success(request, "Discovery started: the clusters appear here when it is done.")
            elif run is None:
                raise ValidationError("there is no finished run to act on")
            elif action == "merge":
                merged = cluster_merge(run=run, user=request.user,
                                        cluster_ids=id_list(request.POST.getlist("cluster"), "cluster"))
                messages.success(request, f"Merged into “{merged.name}”.")
            elif action == "split":
                parts = cluster_split(run=run, user=request.user, cluster_id=required_id(request.POST, "cluster_id"),
                                      k=int_param(request.POST, "k", default=2) or 2)
                messages.success(request, f"Split into {len(parts)} clusters.")
            elif action in ("rename", "dismiss", "restore"):
                cluster_update(run=run, user=request.user, cluster_id=required_id(request.POST, "cluster_id"),
                               name=request.POST.get("name") if action == "rename" else None,
                               dismissed={"dismiss": True, "restore": False}.get(action))
            elif action == "undo":
                undone = cluster_action_undo(run=run, user=request.user)
                messages.success(request, f"Undone: {undone.summary}.")
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(request.get_full_path())
    latest = runs[0] if runs else None
    context = {
        "project": project, "membership": membership, "runs": runs, "run": run,
        "clusters": list(clusters_active(run=run)) if run else [],
        "quotes": _quotes(run) if run else {},
        "last_action": run.actions.filter(undone=False).first() if run else None,
        "pending": latest if latest and latest.status in (DiscoveryRun.Status.PENDING, DiscoveryRun.Status.RUNNING)
        else None,
        "pending_progress": progress_get(kind="discovery", job_id=latest.pk) if latest else 0,
        **role_flags(membership),
    }
    return render(request, "labeling_app/discovery/clusters.html", context)


def _quotes(run: DiscoveryRun) -> dict[int, list[str]]:
    clusters = list(run.clusters.filter(active=True))
    wanted = {r for c in clusters for r in c.representative_ids[:3]}
    texts = dict(run.project.responses.filter(pk__in=wanted).values_list("pk", "text"))
    return {c.pk: [texts[r] for r in c.representative_ids[:3] if r in texts] for c in clusters}


@login_required
def discovery_status(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The newest run's progress bar (polled by the clusters page while a run is going)."""
    membership = page_membership(request, project_id)
    run = DiscoveryRun.objects.filter(project=membership.project).first()
    return render(request, "labeling_app/discovery/partials/discovery_status.html",
                  {"project": membership.project, "pending": run,
                   "pending_progress": progress_get(kind="discovery", job_id=run.pk) if run else 0})


@login_required
def cluster_page(request: AuthenticatedHttpRequest, project_id: int, cluster_id: int) -> HttpResponse:
    """One cluster's members with search; make a theme from the ticked ones, or move them."""
    membership = page_membership(request, project_id)
    project = membership.project
    cluster = get_object_or_404(Cluster.objects.select_related("run", "theme"), pk=cluster_id, run__project=project)
    if request.method == "POST":
        ticked = id_list(request.POST.getlist("response"), "response")
        try:
            if request.POST.get("action") == "make_theme":
                theme = cluster_make_theme(run=cluster.run, user=request.user, cluster_id=cluster.pk,
                                           name=request.POST.get("name", ""), response_ids=ticked)
                messages.success(request, f"Theme “{theme.name}” labels {len(ticked)} responses.")
            elif request.POST.get("action") == "move":
                target = responses_move(run=cluster.run, user=request.user, response_ids=ticked,
                                        cluster_id=required_id(request.POST, "to"))
                messages.success(request, f"Moved {len(ticked)} responses to “{target.name}”.")
            return redirect("clusters", project_id=project.pk)
        except (ValidationError, KeyError, ValueError) as exc:
            _errors(request, exc if isinstance(exc, ValidationError) else ValidationError(str(exc)))
    search = request.GET.get("q", "").strip()
    members = list(cluster_members(cluster=cluster, search=search)[:500])
    coded = responses_themes(project=project, response_ids=[r.pk for r in members],
                             blind_for=viewer_blind_for(membership))
    context = {"project": project, "membership": membership, "cluster": cluster, "search": search,
               "rows": [(r, coded[r.pk]) for r in members],
               "others": clusters_active(run=cluster.run).exclude(pk=cluster.pk), **role_flags(membership)}
    return render(request, "labeling_app/discovery/cluster.html", context)


@login_required
def map_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    run = discovery_run_latest(project=project)
    config = {"points": f"/projects/{project.pk}/map/points/", "api": f"/api/projects/{project.pk}/",
              "themes": [{"id": t.pk, "name": t.name, "colour": t.colour}
                         for t in project.themes.filter(archived=False)]}
    return render(request, "labeling_app/discovery/map.html",
                  {"project": project, "membership": membership, "run": run, "config": config,
                   **role_flags(membership)})


@login_required
def map_data(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    run = discovery_run_latest(project=membership.project)
    if run is None:
        return JsonResponse({"ids": []})
    return HttpResponse(map_points_json(run=run), content_type="application/json")


@login_required
def similar_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """"More like this": from one response (?response=) or a theme's labelled responses (?theme=)."""
    membership = page_membership(request, project_id)
    project = membership.project
    response_id, theme_id = id_param(request.GET, "response"), id_param(request.GET, "theme")
    anchor = project.responses.filter(pk=response_id).first() if response_id else None
    anchor_theme = project.themes.filter(pk=theme_id).first() if theme_id else None
    anchors = [anchor.pk] if anchor else theme_response_ids(
        project=project, theme_id=theme_id, blind_for=viewer_blind_for(membership)) if theme_id else []
    if request.method == "POST":
        ticked = id_list(request.POST.getlist("response"), "response")
        theme = get_object_or_404(project.themes.filter(archived=False), pk=required_id(request.POST, "theme"))
        try:
            annotations_add_theme(project=project, user=request.user, response_ids=ticked, theme_id=theme.pk)
            messages.success(request, f"Labelled {len(ticked)} responses with “{theme.name}”.")
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(request.get_full_path())
    k = clamped_int(request.GET, "k", default=25, low=1, high=200)
    similar = responses_similar(project=project, response_ids=anchors, k=k)
    context = {"project": project, "membership": membership, "anchor": anchor, "anchor_theme": anchor_theme,
               "similar": similar, "themes": project.themes.filter(archived=False), **role_flags(membership)}
    return render(request, "labeling_app/discovery/similar.html", context)


@login_required
def map_label(request: AuthenticatedHttpRequest, project_id: int) -> JsonResponse:
    """Label the responses selected on the map with one theme."""
    membership = page_membership(request, project_id, Role.ANALYST)
    try:
        body = json_object(request.body)
        theme_id, ids = required_id(body, "theme"), id_list(body.get("responses", []), "responses")
    except InvalidParam as exc:  # this endpoint speaks JSON: the error in the API's shape, not a 400 page
        return JsonResponse({"message": str(exc), "details": exc.detail}, status=400)
    theme = get_object_or_404(membership.project.themes.filter(archived=False), pk=theme_id)
    try:
        annotations_add_theme(project=membership.project, user=request.user, response_ids=ids,
                              theme_id=theme.pk)
    except ValidationError as exc:
        return JsonResponse({"message": "; ".join(exc.messages)}, status=400)
    return JsonResponse({"labelled": len(ids)})
