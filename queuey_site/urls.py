from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The site's front page is the dashboard (a newcomer's first request is /).
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
    path("v1/", include("jobs.api.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
]

# Errors raised outside any view (a Host not in ALLOWED_HOSTS, a middleware failing) get
# the API's JSON error shape under /v1 and Django's own pages elsewhere.
handler400 = "jobs.api.django_errors.bad_request"
handler403 = "jobs.api.django_errors.permission_denied"
handler404 = "jobs.api.django_errors.page_not_found"
handler500 = "jobs.api.django_errors.server_error"
