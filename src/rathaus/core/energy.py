"""Energy (Wh), emissions (gCO2e) and cost (€) of one model call.

Two methods, documented in docs/metering.md:

* **Measured (embedded models)**: the process CPU time of the call × configured watts per busy core,
  × PUE of the room the machine stands in.
* **Estimated (remote models)**: the EcoLogits LLM inference methodology (GenAI Impact / mlco2,
  https://ecologits.ai, "LLM inference" methodology page, coefficients from ecologits/impacts/llm.py):
  GPU energy per output token is a fitted function of the active parameter count at batch size 64,
  the server's non-GPU power is shared over the batch for the generation time, and the number of
  GPUs follows from the memory the model needs. Only the usage phase is counted (no embodied
  emissions), so figures from both methods are comparable.

Emissions are energy × the grid's carbon intensity (default 363 g/kWh: Umweltbundesamt, German
electricity mix 2024).
"""

from __future__ import annotations

import math
from decimal import Decimal

# EcoLogits coefficients (usage phase).
GPU_ENERGY_ALPHA = 1.1665273170451914e-06  # Wh per token per billion active parameters (before batching)
GPU_ENERGY_BETA = -0.011205921025579175  # batching factor exponent
GPU_ENERGY_GAMMA = 4.052928146734005e-05  # Wh per token, fixed part
LATENCY_ALPHA = 0.0006785088094353663  # s per token per billion active parameters
LATENCY_BETA = 0.0003119310311688259  # s per token per request in the batch
LATENCY_GAMMA = 0.019473717579473387  # s per token, fixed part
BATCH_SIZE = 64
GPU_MEMORY_GB = 80
SERVER_GPUS = 8
SERVER_POWER_KW = 1.2
QUANTIZATION_BITS = 16
DEFAULT_REMOTE_PUE = 1.2


def embedded_energy_wh(cpu_seconds: float, watts_per_core: float, pue: float) -> float:
    """Measured: CPU-seconds × W per core gives joules; /3600 gives Wh; × PUE adds cooling etc."""
    return max(cpu_seconds, 0.0) * watts_per_core / 3600.0 * pue


def remote_gpu_count(total_params_b: float) -> int:
    required_gb = 1.2 * total_params_b * QUANTIZATION_BITS / 8
    return int(2 ** math.ceil(math.log2(max(1, math.ceil(required_gb / GPU_MEMORY_GB)))))


def remote_energy_wh(
    active_params_b: float,
    total_params_b: float,
    output_tokens: int,
    latency_s: float | None = None,
    pue: float = DEFAULT_REMOTE_PUE,
) -> float:
    """Estimated (EcoLogits): PUE × (server share + GPUs × output tokens × GPU energy per token)."""
    if output_tokens <= 0:
        return 0.0
    per_token_wh = GPU_ENERGY_ALPHA * math.exp(GPU_ENERGY_BETA * BATCH_SIZE) * active_params_b + GPU_ENERGY_GAMMA
    gpus = remote_gpu_count(total_params_b)
    gpu_wh = gpus * output_tokens * per_token_wh
    generation_s = output_tokens * (LATENCY_ALPHA * active_params_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA)
    if latency_s is not None and latency_s > 0:
        generation_s = min(generation_s, latency_s)
    server_wh = generation_s / 3600.0 * SERVER_POWER_KW * 1000.0 * (gpus / SERVER_GPUS) / BATCH_SIZE
    return pue * (server_wh + gpu_wh)


def gco2e(energy_wh: float, grid_gco2_per_kwh: float) -> float:
    return energy_wh / 1000.0 * grid_gco2_per_kwh


def cost_eur(prompt_tokens: int, completion_tokens: int, price_in_per_1m: float, price_out_per_1m: float) -> Decimal:
    cost = (Decimal(prompt_tokens) * Decimal(str(price_in_per_1m)) + Decimal(completion_tokens)
            * Decimal(str(price_out_per_1m))) / Decimal(1_000_000)
    return cost.quantize(Decimal("0.00000001"))
