"""URLs for the tests in which every path fails unexpectedly, whatever the method.

A request to any operation's own path then gets the answer a bug in that
operation would get: the site's JSON ``handler500``.
"""

from django.urls import re_path

from config import urls
from config.tests.failing_urls import failing_view

urlpatterns = [re_path(r"", failing_view)]
handler400 = urls.handler400
handler404 = urls.handler404
handler500 = urls.handler500
