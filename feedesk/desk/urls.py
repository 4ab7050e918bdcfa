from django.contrib.auth import views as auth_views
from django.urls import path

from feedesk.desk import views

app_name = "desk"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="language"),
    path("", views.dashboard, name="dashboard"),
    path("students/", views.students, name="students"),
    path("students/new/", views.student_new, name="student_new"),
    path("students/<int:pk>/", views.student_detail, name="student"),
    path("students/<int:pk>/enrol/", views.enrol, name="enrol"),
    path("students/<int:pk>/pay/", views.collect_payment, name="collect"),
    path("students/<int:pk>/pay/allocation/", views.allocation_preview, name="allocation_preview"),
    path("students/<int:pk>/orders/new/", views.manual_order, name="manual_order"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/flags/", views.order_flags, name="order_flags"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/apply-credit/", views.order_apply_credit, name="order_apply_credit"),
    path("payments/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("payments/<int:pk>/reverse/", views.reverse_payment_view, name="reverse_payment"),
    path("ledger/trial-balance/", views.ledger_trial_balance, name="trial_balance"),
    path("ledger/verify/", views.ledger_verify, name="verify"),
]
