"""Energy, emissions and cost formulas, checked against hand calculations."""

import math
from decimal import Decimal

import pytest

from rathaus.core import energy


def test_embedded_energy_is_cpu_time_times_power_times_pue() -> None:
    # 36 CPU-seconds at 10 W per core = 360 J = 0.1 Wh; PUE 1.5 -> 0.15 Wh
    assert energy.embedded_energy_wh(36.0, 10.0, 1.5) == pytest.approx(0.15)
    assert energy.embedded_energy_wh(-1.0, 10.0, 1.5) == 0.0


def test_gco2e_uses_grid_factor() -> None:
    # 1 kWh at the German 2024 mix (363 g/kWh)
    assert energy.gco2e(1000.0, 363.0) == pytest.approx(363.0)


def test_remote_energy_follows_ecologits() -> None:
    # 70 B dense model, 1000 output tokens, no measured latency: computed by hand from the formula.
    per_token = 1.1665273170451914e-06 * math.exp(-0.011205921025579175 * 64) * 70 + 4.052928146734005e-05
    # memory 1.2 * 70 B * 2 bytes = 168 GB -> 3 GPUs of 80 GB -> rounded up to a power of two: 4
    assert energy.remote_gpu_count(70) == 4
    latency = 1000 * (0.0006785088094353663 * 70 + 0.0003119310311688259 * 64 + 0.019473717579473387)
    server = latency / 3600 * 1200 * 4 / 8 / 64
    expected = 1.2 * (server + 4 * 1000 * per_token)
    assert energy.remote_energy_wh(70, 70, 1000) == pytest.approx(expected)
    assert energy.remote_energy_wh(70, 70, 0) == 0.0


def test_remote_energy_grows_with_model_size_and_tokens() -> None:
    small = energy.remote_energy_wh(8, 8, 500)
    assert energy.remote_energy_wh(70, 70, 500) > small
    assert energy.remote_energy_wh(8, 8, 1000) == pytest.approx(2 * small, rel=0.01)


def test_measured_latency_caps_server_time() -> None:
    assert energy.remote_energy_wh(8, 8, 1000, latency_s=0.1) < energy.remote_energy_wh(8, 8, 1000)


def test_cost_in_euro() -> None:
    # 1M in at 0.15 €, 2M out at 0.60 €
    assert energy.cost_eur(1_000_000, 2_000_000, 0.15, 0.60) == Decimal("1.35")
    assert energy.cost_eur(3, 0, 0.10, 0.60) == Decimal("0.00000030")
