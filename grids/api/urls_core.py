"""API routes of grids: core part (included by grids/api/urls.py, mounted at /api/grids/).

    /api/grids/                       list (GeoJSON) / create
    /api/grids/<id>/                  detail / PATCH
    /api/grids/<id>/retire|split/     editing
    /api/grids/merge|validate/        editing across grids, the editor's dry run
    /api/grids/<id>/history|coverage|children/, /api/grids/tree/
    /api/grids/import/, /api/grids/export/
    /api/grids/<id>/assignments|transfer|transfers|liaisons/, /api/grids/assignments/<id>/end/,
    /api/grids/liaisons/<id>/
    /api/grids/<id>/summary/, /api/grids/mine/, /api/grids/<id>/layers/<layer>.geojson
"""
from django.urls import path

from grids.api import assignment, core, mygrid

urlpatterns = [
    path("", core.GridListApi.as_view(), name="grid-list"),
    path("tree/", core.GridTreeApi.as_view(), name="grid-tree"),
    path("merge/", core.GridMergeApi.as_view(), name="grid-merge"),
    path("validate/", core.GridValidateApi.as_view(), name="grid-validate"),
    path("import/", core.GridImportApi.as_view(), name="grid-import"),
    path("export/", core.GridExportApi.as_view(), name="grid-export"),
    path("mine/", mygrid.GridMineApi.as_view(), name="grid-mine"),
    path("<int:pk>/", core.GridDetailApi.as_view(), name="grid-detail"),
    path("<int:pk>/retire/", core.GridRetireApi.as_view(), name="grid-retire"),
    path("<int:pk>/split/", core.GridSplitApi.as_view(), name="grid-split"),
    path("<int:pk>/history/", core.GridHistoryApi.as_view(), name="grid-history"),
    path("<int:pk>/coverage/", core.GridCoverageApi.as_view(), name="grid-coverage"),
    path("<int:pk>/children/", core.GridChildrenApi.as_view(), name="grid-children"),
    path("<int:pk>/assignments/", assignment.GridAssignmentListApi.as_view(), name="grid-assignments"),
    path("assignments/<int:pk>/end/", assignment.GridAssignmentEndApi.as_view(), name="grid-assignment-end"),
    path("<int:pk>/transfer/", assignment.GridTransferApi.as_view(), name="grid-transfer"),
    path("<int:pk>/transfers/", assignment.GridTransferListApi.as_view(), name="grid-transfers"),
    path("<int:pk>/liaisons/", assignment.GridLiaisonListApi.as_view(), name="grid-liaisons"),
    path("liaisons/<int:pk>/", assignment.GridLiaisonDetailApi.as_view(), name="grid-liaison-detail"),
    path("<int:pk>/summary/", mygrid.GridSummaryApi.as_view(), name="grid-summary"),
    path("<int:pk>/layers/<slug:layer>.geojson", mygrid.GridLayerApi.as_view(), name="grid-layer"),
]
