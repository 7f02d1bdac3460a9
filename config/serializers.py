"""Response shapes of the site-wide views."""

from rest_framework import serializers


class LivenessSerializer(serializers.Serializer):
    """The process answers."""

    status = serializers.CharField(help_text="'ok': the process serves requests.")
