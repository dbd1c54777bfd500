from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import views

urlpatterns = [
    # Behind revgate: `auth: none` (login takes a username and password).
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    # Behind revgate: `auth: refresh` (the body's refresh token is checked
    # for revocation before Django sees it).
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    # Any other path needs a valid, unrevoked access token at revgate.
    path("api/me/", views.me, name="me"),
]
