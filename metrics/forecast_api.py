"""The forecast endpoints: ``GET /api/v1/metrics/forecast/`` and ``…/forecast/accuracy/``.

Unlike the other metric endpoints they never compute: fitting and backtesting every series
runs in the background (nightly, and after a sync that changed the ledger or budgets), so a
fiscal year not forecast yet answers 404 saying so. Permission: ``core.view_dashboards``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from finhub.core.api import ErrorSerializer
from finhub.core.permissions import has_perm
from metrics import forecast_serializers as s
from metrics.forecasts import forecast_snapshot

STORED_ONLY = (
    " Reads the stored forecast: it is recomputed in the background nightly and after a sync "
    "that changed the ledger or budgets, never on request (404 until the first run). Money is "
    'in the reporting currency as exact decimal strings; an undefined ratio is "undefined".'
)
ERRORS = {
    400: OpenApiResponse(description="A parameter is invalid; the body names it."),
    403: OpenApiResponse(ErrorSerializer, description="Needs core.view_dashboards."),
    404: OpenApiResponse(ErrorSerializer, description="No forecast stored for these yet."),
}


class ForecastBaseView(APIView):
    permission_classes = [IsAuthenticated, has_perm("core.view_dashboards")]
    params_serializer: type[s.ForecastParamsSerializer] = s.ForecastParamsSerializer

    def snapshot(self, request):
        params = self.params_serializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        snapshot = forecast_snapshot(fiscal_year=data["fiscal_year"], budget=data["budget"])
        if snapshot is None:
            raise NotFound(
                f"No forecast of FY{data['fiscal_year']} is stored yet: forecasts are computed "
                "nightly and after a sync that changes the ledger or budgets (another year or "
                "budget version: `manage.py forecast --fiscal-year YEAR [--budget ID]`)."
            )
        return snapshot, data


class ForecastView(ForecastBaseView):
    params_serializer = s.ForecastGroupsParamsSerializer

    @extend_schema(
        summary="Forecast of actuals and budget variance",
        description="For the fiscal year: per series (account x department with a budget) and "
        "per total (department x account type, account type, company operating income) the "
        "monthly actuals of the closed months and forecasts of the rest with 80% and 95% "
        "prediction intervals, the predicted full-year outturn, its variance vs budget and the "
        "probability of exceeding the budget, the model chosen per series by the backtest, and "
        "the backtest's accuracy (/docs/metrics/#forecasts-and-prediction-accuracy)." + STORED_ONLY,
        parameters=[s.ForecastGroupsParamsSerializer],
        responses={200: s.ForecastSnapshotSerializer, **ERRORS},
        tags=["metrics"],
    )
    def get(self, request):
        snapshot, data = self.snapshot(request)
        level, department = data.get("level"), data.get("department")
        if level or department:
            groups = [
                group
                for group in snapshot.result["groups"]
                if (not level or group["level"] == level)
                and (not department or group["department"] == department)
            ]
            # A copy: the snapshot row is not changed.
            snapshot.result = {**snapshot.result, "groups": groups}
        return Response(s.ForecastSnapshotSerializer(snapshot).data)


class ForecastAccuracyView(ForecastBaseView):
    @extend_schema(
        summary="Forecast accuracy (backtest)",
        description="The rolling-origin backtest over the last 12 closed months at horizons 1, "
        "3 and 6: accuracy (1 - WAPE) and direction accuracy overall (the model chosen per "
        "series), per model and per account type, the full-year outturn error per month of the "
        "last complete fiscal year, the model mix, and the scorecard figure (h = 1) "
        "(/docs/metrics/#forecasts-and-prediction-accuracy)." + STORED_ONLY,
        parameters=[s.ForecastParamsSerializer],
        responses={200: s.ForecastAccuracySnapshotSerializer, **ERRORS},
        tags=["metrics"],
    )
    def get(self, request):
        snapshot, _data = self.snapshot(request)
        return Response(s.ForecastAccuracySnapshotSerializer(snapshot).data)
