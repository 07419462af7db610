from django.urls import path

from benchmarks.bare import bare_submit
from queuey_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("bench/bare", bare_submit), *site_urlpatterns]
