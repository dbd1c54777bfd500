from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET"])
def me(request):
    """The protected API. revgate has already verified the access token and
    checked it is not revoked; Django verifies it again (JWTAuthentication,
    the default above), so the API stays safe if reached without revgate.
    X-Revgate-Subject is the user_id revgate saw, set by revgate only
    (a client-sent copy is removed)."""
    return Response(
        {
            "user_id": request.user.id,
            "username": request.user.get_username(),
            "revgate_subject": request.headers.get("X-Revgate-Subject"),
        }
    )
