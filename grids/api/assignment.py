"""REST API of 定格-定岗-定人-定责 (GR-5), grid transfer (GR-6) and grid liaisons 金融三员 (GR-9).

Thin views over grids.services.assignment. Who may be assigned is looked up in the actor's scope;
someone outside it gets `assignee_outside_institution` whether they exist or not. A transfer moves
customers and tasks between managers, so it needs a recent re-authentication (SEC-4), checked after
the grid was found in scope (out of scope stays 404).
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core.auth_guards import require_recent_auth
from grids import selectors
from grids.api import serializers as s
from grids.api.core import ERRORS, GRID_READ
from grids.api.fields import PagePagination, validated
from grids.permissions import Perm
from grids.services import assignment as service


class GridAssignmentListApi(APIView):
    """The assignments of a grid, open ones first, history kept (GET); put a person in a post (POST;
    for the responsible post the previous holder's assignment ends today)."""

    required_permissions = {"GET": GRID_READ, "POST": Perm.GRID_ASSIGN}

    @extend_schema(parameters=[OpenApiParameter("open", bool, description="only current assignments")],
                   responses=s.AssignmentSerializer(many=True))
    def get(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        open_only = request.query_params.get("open") in ("1", "true", "yes")
        rows = selectors.assignment_list(actor=request.user, grid=grid, open_only=open_only)
        paginator = PagePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.AssignmentSerializer(page, many=True).data)

    @extend_schema(request=s.AssignmentCreateSerializer, responses={201: s.AssignmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.AssignmentCreateSerializer, request.data)
        person = selectors.user_for_assignment(actor=request.user, pk=data["person"])
        assignment = service.grid_assign(
            actor=request.user, grid=grid, person=person, post=data["post"], responsibility=data["responsibility"],
            starts_on=data.get("starts_on"), reason=data["reason"],
        )
        return Response(s.AssignmentSerializer(assignment).data, status=201)


class GridAssignmentEndApi(APIView):
    """End an assignment today."""

    required_permissions = {"POST": Perm.GRID_ASSIGN}

    @extend_schema(request=s.ReasonSerializer, responses={200: s.AssignmentSerializer, **ERRORS})
    def post(self, request, pk: int):
        assignment = selectors.assignment_get(actor=request.user, pk=pk)
        data = validated(s.ReasonSerializer, request.data)
        assignment = service.grid_unassign(actor=request.user, assignment=assignment, reason=data["reason"])
        return Response(s.AssignmentSerializer(assignment).data)


class GridTransferApi(APIView):
    """Transfer a grid and what hangs on it (customers, open tasks…) to another manager, atomically,
    with a record of what moved (critical: needs a recent re-authentication)."""

    required_permissions = {"POST": Perm.GRID_ASSIGN}

    @extend_schema(request=s.TransferCreateSerializer, responses={201: s.TransferSerializer, **ERRORS})
    def post(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.TransferCreateSerializer, request.data)
        require_recent_auth(request)
        to_user = selectors.user_for_assignment(actor=request.user, pk=data["to_user"])
        transfer = service.grid_transfer(actor=request.user, grid=grid, to_user=to_user, reason=data["reason"])
        return Response(s.TransferSerializer(transfer).data, status=201)


class GridTransferListApi(APIView):
    """The transfers of a grid, newest first."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(responses=s.TransferSerializer(many=True))
    def get(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.transfer_list(actor=request.user, grid=grid), request, view=self)
        return paginator.get_paginated_response(s.TransferSerializer(page, many=True).data)


class GridLiaisonListApi(APIView):
    """The liaisons (金融三员) of a grid, phones masked (GET); register one (POST)."""

    required_permissions = {"GET": GRID_READ, "POST": Perm.LIAISON_MANAGE}

    @extend_schema(responses=s.LiaisonSerializer(many=True))
    def get(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        return Response(s.LiaisonSerializer(selectors.liaison_list(actor=request.user, grid=grid), many=True).data)

    @extend_schema(request=s.LiaisonCreateSerializer, responses={201: s.LiaisonSerializer, **ERRORS})
    def post(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.LiaisonCreateSerializer, request.data)
        user = selectors.user_for_assignment(actor=request.user, pk=data.pop("user")) if data.get("user") else None
        data.pop("user", None)
        liaison = service.liaison_create(actor=request.user, grid=grid, user=user, **data)
        return Response(s.LiaisonSerializer(liaison).data, status=201)


class GridLiaisonDetailApi(APIView):
    """Change a liaison's details, rights or active flag."""

    required_permissions = {"PATCH": Perm.LIAISON_MANAGE}

    @extend_schema(request=s.LiaisonUpdateSerializer, responses={200: s.LiaisonSerializer, **ERRORS})
    def patch(self, request, pk: int):
        liaison = selectors.liaison_get(actor=request.user, pk=pk)
        data = validated(s.LiaisonUpdateSerializer, request.data)
        liaison = service.liaison_update(actor=request.user, liaison=liaison, **data)
        return Response(s.LiaisonSerializer(liaison).data)
