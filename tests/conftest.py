"""Shared test set-up: the tests folder on the path (for factories and tables), hypothesis
profiles, and the marker that keeps tests needing a real IB Gateway off by default."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "supervisor"))  # the harness, shared by e2e scenarios
sys.path.insert(0, str(Path(__file__).parent / "e2e"))  # the days and the broker watcher

# The main properties ask for their own count (2,000 interleavings) with @settings; the rest run
# this profile's. A developer's quick loop can pick "dev".
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
# a long search, by hand: HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_leg_properties.py
settings.register_profile("thorough", max_examples=6000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-ib-gateway", action="store_true", help="run tests that need a real IB Gateway")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-ib-gateway"):
        return
    skip = pytest.mark.skip(reason="needs a real IB Gateway: pass --run-ib-gateway")
    for item in items:
        if "ib_gateway" in item.keywords:
            item.add_marker(skip)
