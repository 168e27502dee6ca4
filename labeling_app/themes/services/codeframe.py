"""A codeframe file applied to a project's theme set, whole or not at all."""
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.audit.services import audit_record
from labeling_app.projects.models import Project
from labeling_app.themes.models import Net, Theme
from labeling_app.themes.selectors import CodeframeRow
from labeling_app.themes.services.themes import net_ensure, theme_create, theme_update


def _conflicts(project: Project, rows: list[CodeframeRow]) -> list[str]:
    """What the file says against the project: a number the project gives another name, a name under another
    number, a net number another net has. Numbers never change, so these are the file's errors."""
    by_code = {t.code: t for t in Theme.objects.filter(project=project)}
    by_name = {t.name.casefold(): t for t in by_code.values()}
    nets = {n.code: n for n in Net.objects.filter(project=project)}
    problems = []
    for row in rows:
        held = by_code.get(row.code) if row.code is not None else None
        named = by_name.get(row.name.casefold())
        if held is not None and held.name.casefold() != row.name.casefold():
            problems.append(f"code {row.code} is “{held.name}” in this project, the file calls it “{row.name}”")
        elif held is None and named is not None and row.code is not None:
            problems.append(f"“{row.name}” is code {named.code} in this project, the file gives it {row.code}")
        net = nets.get(row.net_code) if row.net and row.net_code is not None else None
        if net is not None and net.name.casefold() != row.net.casefold():
            problems.append(f"net {row.net_code} is “{net.name}” in this project, the file calls it “{row.net}”")
    return problems


@transaction.atomic
def codeframe_apply(*, project: Project, rows: list[CodeframeRow]) -> dict[str, int]:
    """Make the project's theme set hold the file's codes: new codes are added in the file's order with their
    numbers, nets and keys; codes it has already (same number, same name) take the file's net, description, key
    and archived state. Raises ValidationError listing every conflict; then nothing is changed."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    problems = _conflicts(project, rows)
    if problems:
        raise ValidationError(problems)
    by_name = {t.name.casefold(): t for t in Theme.objects.filter(project=project)}
    # Keys are unique among live codes: free every key the file moves before giving any.
    moving = [by_name[r.name.casefold()] for r in rows if r.name.casefold() in by_name
              and by_name[r.name.casefold()].shortcut != r.key]
    if moving:
        Theme.objects.filter(pk__in=[t.pk for t in moving]).update(shortcut="")
        for theme in moving:
            theme.shortcut = ""
    created = updated = 0
    for row in rows:
        net = net_ensure(project=project, name=row.net, code=row.net_code) if row.net else None
        found = by_name.get(row.name.casefold())
        if found is None:
            theme = theme_create(project=project, name=row.name, description=row.description, net=net,
                                 code=row.code, shortcut="" if row.archived else row.key)
            if row.archived or row.replaced_by:
                Theme.objects.filter(pk=theme.pk).update(archived=row.archived, replaced_by=row.replaced_by)
            created += 1
            continue
        theme = found
        wanted = {"description": row.description, "net": net, "archived": row.archived,
                  "shortcut": "" if row.archived else row.key}
        if any(getattr(theme, k) != v for k, v in wanted.items()) or theme.replaced_by != row.replaced_by:
            theme_update(theme=theme, **wanted)
            if theme.replaced_by != row.replaced_by:
                Theme.objects.filter(pk=theme.pk).update(replaced_by=row.replaced_by)
            updated += 1
    audit_record(project=project, action="codeframe.import", target_type="theme set",
                 summary=f"{created} codes added, {updated} updated from a codeframe file",
                 after={"created": created, "updated": updated})
    return {"created": created, "updated": updated}
