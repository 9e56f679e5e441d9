"""Distances and the arrival check, without a database."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.enums import ArrivalCheck
from core.geo import check_arrival, distance_m, valid_point

SHANGHAI_PEOPLES_SQUARE = (31.2304, 121.4737)
THE_BUND = (31.2400, 121.4900)  # about 1.9 km to the north-east
LATITUDES = st.floats(min_value=-90, max_value=90)
LONGITUDES = st.floats(min_value=-180, max_value=180)


def test_known_distances_come_out_right():
    # One degree of latitude is 111.2 km on the mean sphere.
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    # London to Paris, about 343.5 km along the great circle.
    assert distance_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_500, rel=5e-3)
    assert distance_m(*SHANGHAI_PEOPLES_SQUARE, *THE_BUND) == pytest.approx(1_950, rel=0.05)
    # Half the globe apart: pi times the radius.
    assert distance_m(0, 0, 0, 180) == pytest.approx(math.pi * 6_371_008.8)


@given(LATITUDES, LONGITUDES, LATITUDES, LONGITUDES)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_globe(lat1, lon1, lat2, lon2):
    there = distance_m(lat1, lon1, lat2, lon2)
    assert there == pytest.approx(distance_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0 <= there <= math.pi * 6_371_008.8 + 1e-6


def test_an_arrival_within_the_radius_is_verified_and_outside_it_keeps_the_distance():
    site = SHANGHAI_PEOPLES_SQUARE
    assert check_arrival(site, 300, (31.2310, 121.4740)) == (ArrivalCheck.VERIFIED, 73)
    check, metres = check_arrival(site, 300, THE_BUND)
    assert check is ArrivalCheck.OUTSIDE and metres is not None and 1_800 < metres < 2_100
    assert check_arrival(site, 300, None) == (ArrivalCheck.NOT_GIVEN, None)
    assert check_arrival(site, 0, site) == (ArrivalCheck.VERIFIED, 0)


def test_points_off_the_globe_are_not_valid():
    assert valid_point(31.2, 121.5)
    assert not valid_point(91, 0) and not valid_point(0, -181)
    assert not valid_point(math.nan, 0) and not valid_point(0, math.inf)
