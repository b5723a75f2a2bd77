"""Pagination of the API's lists: `?page=N&per_page=M`, with `page`, `per_page`, `pages`, `next`
and `previous` in every paginated body (the challenge list and the leaderboard alike)."""
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from challenges.models import Challenge
from submissions import selectors


class ChallengePagination(PageNumberPagination):
    """The challenge list, `per_page` challenges a page (default 50, at most 200), under "challenges"."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "per_page"
    invalid_page_message = "No such page: {page_number!r}."

    def get_paginated_response(self, data: list) -> Response:
        return Response({
            "count": self.page.paginator.count,
            "page": self.page.number,
            "per_page": self.page.paginator.per_page,
            "pages": self.page.paginator.num_pages,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "challenges": data,
        })

    def get_previous_link(self) -> str | None:
        """Like DRF's, but page 1 is named (`?page=1`), as on the leaderboard."""
        if not self.page.has_previous():
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.page.previous_page_number())

    def get_paginated_response_schema(self, schema: dict) -> dict:
        nullable_uri = {"type": "string", "format": "uri", "nullable": True}
        return {"type": "object", "required": ["count", "page", "per_page", "pages", "next", "previous", "challenges"],
                "properties": {"count": {"type": "integer"}, "page": {"type": "integer"},
                               "per_page": {"type": "integer"}, "pages": {"type": "integer"},
                               "next": nullable_uri, "previous": nullable_uri, "challenges": schema}}


class LeaderboardPagination(BasePagination):
    """The board a page at a time: page N of each of its three sections, `per_page` rows each
    (PROOFBOARD_LEADERBOARD_PAGE_SIZE, at most …_MAX_PAGE_SIZE), ranks global. The page itself comes
    from the selectors' cache (keyed by the board version); only the links depend on the request."""

    def paginate_board(self, challenge: Challenge, request: Request) -> dict[str, Any]:
        """The cached page the request asks for; PageNotFound (a 404) past the last page or for a
        page that is not a positive integer."""
        number = selectors.page_number(request.query_params.get("page"))
        per_page = selectors.page_size(request.query_params.get("per_page"))
        self.request, self.number, self.per_page = request, number, per_page
        return selectors.leaderboard_page_json(challenge, number, per_page)

    def get_paginated_response(self, data: dict[str, Any]) -> Response:
        return Response({**data, "next": self._link(self.number + 1) if self.number < data["pages"] else None,
                         "previous": self._link(self.number - 1) if self.number > 1 else None})

    def _link(self, number: int) -> str:
        url = replace_query_param(self.request.build_absolute_uri(), "page", number)
        return replace_query_param(url, "per_page", self.per_page)

    @staticmethod
    def schema_parameters() -> list[OpenApiParameter]:
        """`page` and `per_page`, for the operation's schema."""
        return [
            OpenApiParameter("page", int, description="page number, from 1 (default 1)"),
            OpenApiParameter("per_page", int, description=f"rows of each section per page (default "
                             f"{settings.LEADERBOARD_PAGE_SIZE}, larger values are clamped to "
                             f"{settings.LEADERBOARD_MAX_PAGE_SIZE})"),
        ]
