"""The month-end close pages, mounted at /close/ (finhub/urls.py) in the ``closing``
namespace; templates are edited in the admin."""

from django.urls import path

from closing import views

app_name = "closing"

urlpatterns = [
    path("", views.close_list_view, name="list"),
    path("open/", views.close_open_view, name="open"),
    path("<int:close_id>/", views.close_detail_view, name="detail"),
    path("<int:close_id>/tasks/<int:task_id>/tick/", views.close_task_tick_view, name="tick"),
    path("<int:close_id>/tasks/<int:task_id>/retry/", views.close_task_retry_view, name="retry"),
    path("<int:close_id>/unlock/", views.close_unlock_view, name="unlock"),
    path("<int:close_id>/relock/", views.close_relock_view, name="relock"),
]
