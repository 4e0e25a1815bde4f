"""API routes of segments and tags (CR-4, CR-5), included by crm/api/urls.py under /api/crm/.

    segments/                          list / create
    segments/count/, segments/preview/ live count and map preview of a definition
    segments/<id>/                     detail / PATCH / DELETE (draft)
    segments/<id>/submit|approve|reject/, segments/<id>/approvals/
    segments/<id>/refresh/ (202), segments/<id>/members/
    tags/, tags/<id>/, tags/<id>/apply|remove|refresh/
"""
from django.urls import path

from crm.api import segments as views

urlpatterns = [
    path("segments/", views.SegmentListApi.as_view(), name="segment-list"),
    path("segments/count/", views.SegmentCountApi.as_view(), name="segment-count"),
    path("segments/preview/", views.SegmentPreviewApi.as_view(), name="segment-preview"),
    path("segments/<int:pk>/", views.SegmentDetailApi.as_view(), name="segment-detail"),
    path("segments/<int:pk>/submit/", views.SegmentSubmitApi.as_view(), name="segment-submit"),
    path("segments/<int:pk>/approve/", views.SegmentApproveApi.as_view(), name="segment-approve"),
    path("segments/<int:pk>/reject/", views.SegmentRejectApi.as_view(), name="segment-reject"),
    path("segments/<int:pk>/approvals/", views.SegmentApprovalListApi.as_view(), name="segment-approvals"),
    path("segments/<int:pk>/refresh/", views.SegmentRefreshApi.as_view(), name="segment-refresh"),
    path("segments/<int:pk>/members/", views.SegmentMemberListApi.as_view(), name="segment-members"),
    path("tags/", views.TagListApi.as_view(), name="tag-list"),
    path("tags/<int:pk>/", views.TagDetailApi.as_view(), name="tag-detail"),
    path("tags/<int:pk>/apply/", views.TagApplyApi.as_view(), name="tag-apply"),
    path("tags/<int:pk>/remove/", views.TagRemoveApi.as_view(), name="tag-remove"),
    path("tags/<int:pk>/refresh/", views.TagRefreshApi.as_view(), name="tag-refresh"),
]
