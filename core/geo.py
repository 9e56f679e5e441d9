"""Distances on the Earth's surface, for checking an engineer's arrival against the site."""

from __future__ import annotations

import math
from typing import Final

from core.enums import ArrivalCheck

EARTH_RADIUS_M: Final = 6_371_008.8  # the mean radius (IUGG)
# Within this many metres of the site's coordinates the engineer counts as there: phone GPS
# errs by tens of metres between tall buildings, and one site may be a few buildings.
DEFAULT_ARRIVAL_RADIUS_M: Final = 300


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points (haversine formula)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def valid_point(latitude: float, longitude: float) -> bool:
    """Latitude in [-90, 90] and longitude in [-180, 180], both finite."""
    return (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    )


def check_arrival(
    site: tuple[float, float], radius_m: int, shared: tuple[float, float] | None
) -> tuple[ArrivalCheck, int | None]:
    """Verified within `radius_m` of the site, outside it (with the distance), or not given."""
    if shared is None:
        return ArrivalCheck.NOT_GIVEN, None
    metres = round(distance_m(site[0], site[1], shared[0], shared[1]))
    return (ArrivalCheck.VERIFIED if metres <= radius_m else ArrivalCheck.OUTSIDE), metres
