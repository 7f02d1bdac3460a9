"""Reading decisions."""

from django.http import Http404

from decisions.models import Decision


def decision_get(pk: int) -> Decision:
    """Return the decision with id *pk*; raise ``Http404`` if there is none."""
    decision = Decision.objects.filter(pk=pk).first()
    if decision is None:
        raise Http404(f"Decision with id {pk} does not exist.")
    return decision
