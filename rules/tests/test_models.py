import pytest
from django.db import IntegrityError, transaction

from rules.models import RuleSet, RuleSetItem

pytestmark = pytest.mark.django_db


def test_every_change_to_a_set_or_its_items_raises_its_version():
    ruleset = RuleSet.objects.create(name="checkout")
    versions = [ruleset.version]

    item = RuleSetItem.objects.create(ruleset=ruleset, rule="min_items_2")
    versions.append(RuleSet.objects.get().version)
    item.severity = "warning"
    item.save()
    versions.append(RuleSet.objects.get().version)
    ruleset.description = "Changed."
    ruleset.save()
    versions.append(ruleset.version)
    item.delete()
    versions.append(RuleSet.objects.get().version)

    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_the_database_refuses_two_items_with_the_same_key():
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_items", alias="x")

    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSetItem.objects.create(ruleset=ruleset, position=2, rule="max_items", alias="x")


def test_the_database_refuses_two_items_at_the_same_position():
    ruleset = RuleSet.objects.create(name="checkout")
    RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_items_2")

    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
