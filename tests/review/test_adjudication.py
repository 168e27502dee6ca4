"""Blind double coding and adjudication: overlap items, consensus, lead decisions, what the model learns."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.labeling.models import Adjudication, Annotation
from labeling_app.labeling.selectors.consensus import consensus_for_project, overlap_open_ids
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit, annotations_add_theme
from labeling_app.labeling.services.queue import queue_batch_lease
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Membership, Response, Role
from labeling_app.review.services.adjudication import disagreement_resolve, disagreement_send_back, overlap_configure
from tests.factories import MembershipFactory, ProjectFactory, ThemeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    project = ProjectFactory()
    users = {name: MembershipFactory(project=project, user=UserFactory(username=name), role=role).user
             for name, role in [("ann", Role.ANALYST), ("bob", Role.ANALYST), ("cat", Role.ANALYST),
                                ("lea", Role.LEAD)]}
    Response.objects.bulk_create(Response(project=project, respondent_id=f"R{i}", text=f"text {i}")
                                 for i in range(40))
    themes = [ThemeFactory(project=project, name=n) for n in ("Price", "Delivery", "Quality")]
    return project, users, themes


def test_overlap_share_is_drawn_stably_and_only_from_uncoded_responses(team):
    project, users, themes = team
    first = next(iter(project.responses.order_by("pk")))
    annotation_submit(project=project, user=users["ann"], items=[AnnotationItem(first.pk, [themes[0].pk])])
    assert overlap_configure(project=project, share=0.25, coders=2) == 10
    chosen = set(project.responses.filter(is_overlap=True).values_list("pk", flat=True))
    assert first.pk not in chosen
    assert overlap_configure(project=project, share=0.5, coders=2) == 20
    assert chosen < set(project.responses.filter(is_overlap=True).values_list("pk", flat=True))
    assert overlap_configure(project=project, share=0.25, coders=2) == 10
    assert set(project.responses.filter(is_overlap=True).values_list("pk", flat=True)) == chosen
    with pytest.raises(ValidationError):
        overlap_configure(project=project, share=0.3, coders=5)


def test_overlap_items_go_to_n_participants_each_once(team):
    project, users, themes = team
    overlap_configure(project=project, share=1.0, coders=2,
                      participant_ids=[users["ann"].pk, users["bob"].pk, users["cat"].pk])
    Membership.objects.filter(user=users["cat"]).update(codes_overlap=False)
    a = [r.pk for r in queue_batch_lease(project=project, user=users["ann"], size=5)]
    b = [r.pk for r in queue_batch_lease(project=project, user=users["bob"], size=5)]
    assert a == b  # both coders of the same items
    assert queue_batch_lease(project=project, user=users["cat"], size=5) == []  # not taking part
    annotation_submit(project=project, user=users["ann"], items=[AnnotationItem(r, [themes[0].pk]) for r in a])
    again = [r.pk for r in queue_batch_lease(project=project, user=users["ann"], size=5)]
    assert not set(again) & set(a)  # never the same item twice to one coder
    assert overlap_open_ids(project=project, response_ids=a) == set(a)  # one coding of two: still blind


def test_consensus_agreement_disagreement_and_the_leads_decision(team):
    project, users, (price, delivery, quality) = team
    r1, r2, r3, r4 = list(project.responses.order_by("pk").values_list("pk", flat=True))[:4]
    for user, items in [("ann", [(r1, [price]), (r2, [price]), (r3, [delivery])]),
                        ("bob", [(r1, [price]), (r2, [delivery])])]:
        annotation_submit(project=project, user=users[user],
                          items=[AnnotationItem(r, [t.pk for t in ts]) for r, ts in items])
    annotations_add_theme(project=project, user=users["cat"], response_ids=[r1, r4], theme_id=quality.pk,
                          source=Annotation.Source.SUGGESTION)
    consensus = consensus_for_project(project=project)
    assert consensus.resolved[r1] == {price.pk, quality.pk}  # agreed, plus a bulk-added theme
    assert consensus.resolved[r3] == {delivery.pk}  # one coder
    assert consensus.resolved[r4] == {quality.pk}  # bulk-added alone
    assert r2 not in consensus.resolved and consensus.disagreements == {r2}

    with pytest.raises(ValidationError):
        disagreement_resolve(project=project, lead=users["lea"], response_id=r1, theme_ids=[price.pk])
    disagreement_resolve(project=project, lead=users["lea"], response_id=r2, theme_ids=[price.pk, delivery.pk],
                         comment="both apply")
    consensus = consensus_for_project(project=project)
    assert consensus.resolved[r2] == {price.pk, delivery.pk} and not consensus.disagreements
    with pytest.raises(ValidationError):  # decided already
        disagreement_send_back(project=project, lead=users["lea"], response_id=r2, comment="again")


def test_send_back_reopens_the_item_for_its_coders_with_the_comment(team):
    project, users, (price, delivery, _) = team
    r = project.responses.order_by("pk").first().pk
    annotation_submit(project=project, user=users["ann"], items=[AnnotationItem(r, [price.pk])])
    annotation_submit(project=project, user=users["bob"], items=[AnnotationItem(r, [delivery.pk])])
    disagreement_send_back(project=project, lead=users["lea"], response_id=r, comment="read the codebook on Price")
    current = Annotation.objects.filter(response_id=r, is_current=True)
    assert current.count() == 2 and all(a.needs_recoding for a in current)
    assert all("codebook" in a.note and a.changed_by == users["lea"] for a in current)
    assert {a.coder for a in current} == {users["ann"], users["bob"]}  # still attributed to the coders
    assert r not in consensus_for_project(project=project).resolved
    assert Adjudication.objects.get(response_id=r, is_current=True).kind == Adjudication.Kind.SEND_BACK
    assert r in [x.pk for x in queue_batch_lease(project=project, user=users["ann"], size=40)]


def test_the_model_learns_the_leads_decision_not_the_union(demo_vectors):
    from tests.conftest import demo_project_make

    analyst, other, lead = UserFactory(username="m-ann"), UserFactory(username="m-bob"), UserFactory(username="m-lea")
    project = demo_project_make({analyst: Role.ANALYST, other: Role.ANALYST, lead: Role.LEAD}, demo_vectors,
                                keep_labels=150)
    price, delivery = list(project.themes.order_by("order"))[:2]
    disputed = project.responses.filter(annotations__isnull=True).order_by("pk").first()
    annotation_submit(project=project, user=analyst, items=[AnnotationItem(disputed.pk, [price.pk])])
    annotation_submit(project=project, user=other, items=[AnnotationItem(disputed.pk, [delivery.pk])])
    before = training_run(project_id=project.pk, task_id="disputed")
    assert before.labelled_responses == 150  # the disagreement is left out
    disagreement_resolve(project=project, lead=lead, response_id=disputed.pk, theme_ids=[delivery.pk])
    after = training_run(project_id=project.pk, task_id="resolved")
    assert after.labelled_responses == 151
    assert after.labels_used == before.labels_used + 1  # the lead's one theme, not the coders' two


def test_resolving_to_no_theme_must_be_confirmed(team):
    project, users, (price, delivery, _) = team
    r = project.responses.order_by("pk").first().pk
    annotation_submit(project=project, user=users["ann"], items=[AnnotationItem(r, [price.pk])])
    annotation_submit(project=project, user=users["bob"], items=[AnnotationItem(r, [delivery.pk])])
    with pytest.raises(ValidationError) as refused:  # nothing ticked: a slip, not a decision
        disagreement_resolve(project=project, lead=users["lea"], response_id=r, theme_ids=[])
    assert "no theme chosen" in refused.value.message_dict["themes"][0]
    assert not Adjudication.objects.filter(response_id=r).exists()
    assert consensus_for_project(project=project).disagreements == {r}  # still waits for the lead

    decision = disagreement_resolve(project=project, lead=users["lea"], response_id=r, theme_ids=[],
                                    confirm_empty=True)
    assert decision.kind == Adjudication.Kind.RESOLVE and not decision.themes.exists()
    consensus = consensus_for_project(project=project)
    assert consensus.resolved[r] == frozenset() and not consensus.disagreements  # the model learns "none"
