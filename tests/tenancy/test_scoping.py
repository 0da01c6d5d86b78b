import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from contactcenter.tenancy.models import Company, Membership, Role
from contactcenter.tenancy.scoping import (
    company_from_param,
    company_ids_for,
    forget_roles,
    get_scoped_or_404,
    require_role,
    scoped,
)
from crm.models import Customer
from tests.conftest import make_user


def test_a_user_sees_only_the_companies_they_belong_to(company, other_company, agent, outsider):
    assert company_ids_for(agent) == [company.pk]
    assert company_ids_for(outsider) == [other_company.pk]


def test_a_user_of_several_companies_sees_each_with_its_role(company, other_company):
    user = make_user("multi", company, Role.SUPERVISOR)
    Membership.objects.create(user=user, company=other_company, role=Role.CLIENT_MANAGER)
    assert company_ids_for(user) == sorted([company.pk, other_company.pk])
    assert company_ids_for(user, roles={Role.SUPERVISOR}) == [company.pk]


def test_an_inactive_company_disappears(company, agent):
    Company.objects.filter(pk=company.pk).update(is_active=False)
    forget_roles(agent)
    assert company_ids_for(agent) == []


def test_a_foreign_object_answers_like_a_missing_one(customer, outsider, agent):
    assert get_scoped_or_404(Customer.objects.all(), agent, pk=customer.pk) == customer
    with pytest.raises(Http404):
        get_scoped_or_404(Customer.objects.all(), outsider, pk=customer.pk)
    with pytest.raises(Http404):
        get_scoped_or_404(Customer.objects.all(), agent, pk=customer.pk + 1000)
    assert list(scoped(Customer.objects.all(), outsider)) == []


def test_require_role_gives_404_to_strangers_and_403_to_members_without_the_role(
    company, client_manager, outsider, agent
):
    assert require_role(agent, company.pk, {Role.AGENT}) == Role.AGENT
    with pytest.raises(PermissionDenied):
        require_role(client_manager, company.pk, {Role.AGENT, Role.SUPERVISOR})
    with pytest.raises(Http404):
        require_role(outsider, company.pk, {Role.SUPERVISOR})


def test_the_company_filter_only_names_the_users_companies(company, agent, outsider):
    assert company_from_param(agent, "bank") == company
    assert company_from_param(agent, "") is None
    with pytest.raises(Http404):
        company_from_param(outsider, "bank")


def test_anonymous_users_see_nothing(company, customer):
    from django.contrib.auth.models import AnonymousUser

    assert company_ids_for(AnonymousUser()) == []
