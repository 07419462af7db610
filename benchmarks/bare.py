"""The ceiling: a DRF endpoint that only validates a serializer (no auth, no database)."""

from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response


class BareJobSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=128)
    payload = serializers.JSONField()


@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
def bare_submit(request):
    serializer = BareJobSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response({"ok": True}, status=status.HTTP_201_CREATED)
