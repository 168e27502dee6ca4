import factory
from django.contrib.auth import get_user_model

from labeling_app.projects.models import Membership, Project, Response, Role
from labeling_app.themes.models import Theme


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    question = "Why are you cancelling?"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ANALYST


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Theme {n}")
    order = factory.Sequence(lambda n: n)
    code = factory.Sequence(lambda n: n + 1)  # the codeframe number (migration 0023): unique per project


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    project = factory.SubFactory(ProjectFactory)
    respondent_id = factory.Sequence(lambda n: f"R{n:05d}")
    text = factory.Faker("sentence")
