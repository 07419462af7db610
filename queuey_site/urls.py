from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("v1/", include("jobs.api.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("", include("django_prometheus.urls")),
]
