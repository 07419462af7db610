from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.login_throttle import ThrottledLoginForm
from dashboard.views.actions import job_action
from dashboard.views.api_keys import api_keys, create_key, revoke_key
from dashboard.views.audit_log import audit_log
from dashboard.views.bulk import dead_bulk, jobs_bulk, waiting_bulk
from dashboard.views.dead_letters import dead_letters, replay_all
from dashboard.views.job_detail import job_detail
from dashboard.views.jobs import job_list
from dashboard.views.overview import overview
from dashboard.views.queues import queues
from dashboard.views.waiting import waiting
from dashboard.views.workers import workers

app_name = "dashboard"

urlpatterns = [
    path("", overview, name="overview"),
    # The admin's form refuses a non-staff account at the login itself ("staff only");
    # failed logins are throttled (dashboard/login_throttle.py).
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html",
            authentication_form=ThrottledLoginForm,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
    path("jobs/", job_list, name="jobs"),
    # Before jobs/<job_id>/, which would take "bulk" for an id (and 404 it).
    path("jobs/bulk/", jobs_bulk, name="jobs_bulk"),
    path("jobs/<str:job_id>/", job_detail, name="job_detail"),
    path("jobs/<str:job_id>/<str:action>/", job_action, name="job_action"),
    path("dead/", dead_letters, name="dead_letters"),
    path("dead/replay/", replay_all, name="replay_all"),
    path("dead/bulk/", dead_bulk, name="dead_bulk"),
    path("scheduled/", waiting, name="scheduled"),
    path("scheduled/bulk/", waiting_bulk, name="scheduled_bulk"),
    path("queues/", queues, name="queues"),
    path("workers/", workers, name="workers"),
    path("keys/", api_keys, name="api_keys"),
    path("keys/create/", create_key, name="create_key"),
    path("keys/revoke/", revoke_key, name="revoke_key"),
    path("audit/", audit_log, name="audit_log"),
]
