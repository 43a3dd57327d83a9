"""Property-based fuzzing of the whole OpenAPI surface (schemathesis): no request may cause a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from rathaus.app import create_app
from rathaus.runtime import Runtime


@pytest.fixture(scope="module")
def fuzz_runtime(pg_data_dir, models_file, tmp_path_factory):
    """The test catalogue with a short context and one output token, so each valid call is cheap."""
    import uuid

    from conftest import MODEL_CACHE
    from rathaus.core.settings import Settings

    fuzz_models = tmp_path_factory.mktemp("fuzz") / "models.yaml"
    fuzz_models.write_text(models_file.read_text().replace("context_length: 2048", "context_length: 256")
                           .replace("max_output_tokens: 16", "max_output_tokens: 1"))
    rt = Runtime(Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE, models_file=fuzz_models,
                          database_name="fuzz_" + uuid.uuid4().hex[:8], llm_threads=2))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_runtime):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_runtime))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:
    response = case.call(timeout=120)
    assert response.status_code < 500 or response.status_code == 503, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text[:300]
