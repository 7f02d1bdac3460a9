"""Response shapes of the site-wide views."""

from rest_framework import serializers


class LivenessSerializer(serializers.Serializer):
    """The process answers."""

    status = serializers.CharField(help_text="'ok': the process serves requests.")


class HealthSerializer(serializers.Serializer):
    """The service's health."""

    status = serializers.CharField(help_text="'ok' when the service and its database answer.")
    database = serializers.CharField(help_text="'ok' when the database holds the code's schema.")
    throttle_store = serializers.ChoiceField(
        choices=["ok", "unavailable"],
        help_text=(
            "'ok' when the store of the throttles' counts (the database's cache table, or "
            "Redis) answers a read; 'unavailable' otherwise, while requests pass uncounted."
        ),
    )
    replica = serializers.ChoiceField(
        choices=["ok", "unavailable"],
        required=False,
        help_text=(
            "Only with a read replica (DATABASE_REPLICA_URL): 'ok' when it answers a query; "
            "'unavailable' otherwise, while analysis answers 503 and checks go on."
        ),
    )
