from django.urls import path

from feedesk.portal import staff_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/school/", views.choose_school, name="choose_school"),
    path("logout/", views.logout_view, name="logout"),
    path("code/", views.code_request, name="code_request"),
    path("code/set/", views.code_set, name="code_set"),
    path("language/", views.set_language, name="language"),
    path("child/", views.switch_child, name="switch_child"),
    path("courses/", views.courses, name="courses"),
    path("absence/", views.absence, name="absence"),
    path("absence/clear/", views.absence_clear, name="absence_clear"),
    path("pay/", views.pay, name="pay"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("cart/checkout/", views.cart_checkout, name="checkout"),
    path("cart/return/", views.checkout_return, name="checkout_return"),
    path("receipts/", views.receipts, name="receipts"),
    path("receipts/<int:payment_id>/", views.receipt, name="receipt"),
    path("receipts/<int:payment_id>/download/", views.receipt_download, name="receipt_download"),
    # Staff: Web options → Carts & Checkout, and portal invitations.
    path("staff/web-options/carts/", staff_views.carts_settings, name="carts_settings"),
    path(
        "staff/guardians/<int:guardian_id>/invite/", staff_views.invite_guardian_view, name="invite_guardian"
    ),
    path("staff/students/<int:student_id>/invite/", staff_views.invite_student_view, name="invite_student"),
]
