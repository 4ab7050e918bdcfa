from django.urls import path

from feedesk.gateways import views

app_name = "gateways"
urlpatterns = [
    path("wechat/<slug:org_slug>/notify/", views.wechat_notify, name="wechat_notify"),
    path("alipay/<slug:org_slug>/notify/", views.alipay_notify, name="alipay_notify"),
    path("return/<str:out_trade_no>/", views.payment_return, name="return"),
    path("sim/pay/<str:out_trade_no>/", views.sim_pay, name="sim_pay"),
    path("sim/<path:path>", views.sim_api, name="sim_api"),
    path("settings/", views.gateway_settings, name="settings"),
]
