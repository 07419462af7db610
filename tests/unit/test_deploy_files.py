"""The deploy files against the code: Dockerfile, .dockerignore, docker-compose.yml and the
ECS task definitions in deploy/ecs/ (issue #14).

No Docker engine runs here, so the files are parsed and checked: every environment
variable they set is one the code reads, every command and health check names a
management command, module or file that exists (and is sent to the image), ports match
Prometheus's targets, SIGTERM drains fit in the stop timeouts, Redis keeps its data and
never evicts, the migrate one-shot gates the rest, and docker-compose.yml is valid against
the Compose Specification's JSON schema (deploy/compose-spec/). Where a Docker CLI with
the compose plugin exists, `docker compose config -q` runs too.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from queuey_site import container_health

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ECS_DIR = ROOT / "deploy" / "ecs"
COMPOSE_SCHEMA = ROOT / "deploy" / "compose-spec" / "compose-spec.json"
PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"

ROLES = {"api", "worker", "watchdog"}
APP_SERVICES = {"migrate", "api", "worker", "watchdog"}
# Read by Python itself, pip, the virtualenv or prometheus_client, not by our settings.
RUNTIME_VARS = {
    "PATH",
    "VIRTUAL_ENV",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PROMETHEUS_MULTIPROC_DIR",
}
# Exist for the test suite only: never in a deploy file (DESIGN.md: nothing that exists
# for tests is reachable in a production configuration).
TEST_ONLY_VARS = {
    "QUEUEY_FAULT_HANDLERS",
    "QUEUEY_CRASH_AT",
    "QUEUEY_LEDGER_PATH",
    "QUEUEY_SQLITE_TEST_NAME",
}
ECS_PLACEHOLDERS = {"IMAGE", "AWS_REGION", "AWS_ACCOUNT_ID"}
FARGATE_MAX_STOP_TIMEOUT = 120
# Fargate's CPU units and the memory (MiB) each allows (the smaller sizes).
FARGATE_SIZES = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4097, 1024)),
    1024: set(range(2048, 8193, 1024)),
    2048: set(range(4096, 16385, 1024)),
    4096: set(range(8192, 30721, 1024)),
}


# --- what the code reads ----------------------------------------------------------------
_READ_PATTERNS = [
    # settings.py: env("X"), env.str("X", ...), env.bool(...), env.db(...)
    re.compile(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\""),
    # os.environ["X"], os.environ.get("X"), os.environ.setdefault("X"), os.getenv("X")
    re.compile(r"os\.environ(?:\.get|\.setdefault)?\s*[(\[]\s*\"([A-Z][A-Z0-9_]*)\""),
    re.compile(r"os\.getenv\(\s*\"([A-Z][A-Z0-9_]*)\""),
    # gunicorn.conf.py's helper
    re.compile(r"\b_int\(\s*\"([A-Z][A-Z0-9_]*)\""),
    # a module-level name for a variable (workers/heartbeat_file.py ENV, container_health)
    re.compile(r"^\w*ENV\w*\s*=\s*\"([A-Z][A-Z0-9_]*)\"", re.MULTILINE),
]


@cache
def variables_the_code_reads() -> frozenset[str]:
    sources = [ROOT / "gunicorn.conf.py", ROOT / "manage.py"]
    for package in ("queuey_site", "jobs", "workers", "dashboard"):
        sources += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    found: set[str] = set()
    for source in sources:
        text = source.read_text()
        for pattern in _READ_PATTERNS:
            found.update(pattern.findall(text))
    return frozenset(found)


def test_the_scan_of_the_code_finds_the_variables_it_should():
    found = variables_the_code_reads()
    expected = {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "QUEUEY_SHUTDOWN_GRACE",
        "QUEUEY_LOG_FORMAT",
        "QUEUEY_HEARTBEAT_FILE",
        "QUEUEY_ROLE",
        "GUNICORN_WORKERS",
        "GUNICORN_BIND",
        "DJANGO_SUPERUSER_PASSWORD",
    }
    assert expected <= found, expected - found
    assert not (found & {"PATH", "HOME"})


def test_the_readme_documents_every_variable_the_code_reads():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Settings")
    settings_section = readme[start : readme.index("\n## ", start + 1)]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", settings_section))
    missing = sorted(variables_the_code_reads() - documented - {"DJANGO_SETTINGS_MODULE"})
    assert not missing, f"README.md's Settings section lacks {missing}"


def _known(name: str) -> bool:
    return name in variables_the_code_reads() or name in RUNTIME_VARS


# --- Dockerfile ---------------------------------------------------------------------------
@cache
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def runtime_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def image_env() -> dict[str, str]:
    """The ENV of the runtime stage (what every container of the image starts with)."""
    env: dict[str, str] = {}
    for keyword, rest in runtime_stage():
        if keyword == "ENV":
            for token in shlex.split(rest):
                name, _, value = token.partition("=")
                env[name] = value
    return env


def exec_form(rest: str) -> list[str]:
    assert rest.startswith("["), f"use the exec form (JSON array): {rest}"
    return json.loads(rest)


def test_dockerfile_is_multi_stage_with_a_builder_and_a_slim_runtime():
    froms = [rest for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert len(froms) >= 2, froms
    assert any(re.search(r"\bAS builder\b", f, re.IGNORECASE) for f in froms)
    runtime = runtime_stage()
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert any(c.startswith("--from=builder") for c in copies), copies
    builder_runs = " ".join(rest for keyword, rest in stages()[0] if keyword == "RUN")
    assert "pip wheel" in builder_runs
    runtime_runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert "pip install" not in runtime_runs, "dependencies are built in the builder stage"
    assert "build-essential" not in runtime_runs and "gcc" not in runtime_runs
    args = {
        r.split("=", 1)[0]: r.split("=", 1)[1] for k, r in dockerfile_instructions() if k == "ARG"
    }
    assert "slim" in args.get("PYTHON_IMAGE", ""), "the runtime is a slim Python image"


def test_dockerfile_runs_as_a_non_root_user():
    users = [rest for keyword, rest in runtime_stage() if keyword == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, user
    last_user_at = max(i for i, (k, _) in enumerate(runtime_stage()) if k == "USER")
    later = [k for k, _ in runtime_stage()[last_user_at:] if k in {"RUN", "COPY", "ADD"}]
    assert not later, "nothing is written to the image after switching to the process user"


def test_dockerfile_compiles_bytecode_after_copying_the_code():
    runtime = runtime_stage()
    code_copy = max(i for i, (k, r) in enumerate(runtime) if k == "COPY" and r.startswith(". "))
    compiles = [i for i, (k, r) in enumerate(runtime) if k == "RUN" and "compileall" in r]
    assert compiles and compiles[-1] > code_copy, "python -m compileall after COPY . ."
    command = runtime[compiles[-1]][1]
    for tree in ("/app", "/opt/venv", "/usr/local/lib/python3.11"):
        assert tree in command, f"compileall does not cover {tree}"
    assert image_env().get("PYTHONDONTWRITEBYTECODE") == "1"


def test_dockerfile_healthcheck_cmd_and_gunicorn_settings():
    runtime = runtime_stage()
    healthcheck = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert len(healthcheck) == 1
    options, _, command = healthcheck[0].partition("CMD ")
    argv = exec_form(command)
    assert argv[:3] == ["python", "-m", "queuey_site.container_health"], argv
    check_command(argv, role="api")
    assert "--start-period" in options
    cmd = exec_form(next(rest for keyword, rest in runtime if keyword == "CMD"))
    check_command(cmd, role="api")
    env = image_env()
    assert env["QUEUEY_ROLE"] == "api"  # the default CMD is the API
    assert env["QUEUEY_HEARTBEAT_FILE"].startswith("/tmp/")  # writable by the process user
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS"):
        assert env[name].isdigit(), f"{name} is a number, not computed from the host"
    assert container_health.api_url("/healthz", env).endswith(":8000/healthz")
    assert "8000" in {rest for keyword, rest in runtime if keyword == "EXPOSE"}
    assert ("STOPSIGNAL", "SIGTERM") in runtime


def test_gunicorn_conf_takes_its_sizes_from_the_environment_not_the_cpu_count():
    text = (ROOT / "gunicorn.conf.py").read_text()
    assert "cpu_count" not in text and "multiprocessing" not in text
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND"):
        assert f'"{name}"' in text


def test_every_variable_the_dockerfile_sets_is_read_by_the_code():
    names = set(image_env())
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            names.update(t.partition("=")[0] for t in shlex.split(rest))
        if keyword == "RUN":  # VAR=value command
            names.update(re.findall(r"\b([A-Z][A-Z0-9_]+)=\S", rest))
    unknown = sorted(n for n in names if not _known(n))
    assert not unknown, f"the Dockerfile sets variables nothing reads: {unknown}"


# --- .dockerignore ------------------------------------------------------------------------
def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str) -> bool:
    patterns = dockerignore_patterns()
    assert not any(p.startswith("!") for p in patterns), "negations: extend ignored()"
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(prefix.split("/")[-1], pattern[3:])
            ):
                return True
    return False


def test_dockerignore_sends_what_the_image_needs_and_not_the_rest():
    needed = [
        "manage.py",
        "gunicorn.conf.py",
        "requirements.txt",
        "queuey_site/settings.py",
        "queuey_site/container_health.py",
        "workers/healthcheck.py",
        "workers/heartbeat_file.py",
        "jobs/broker/lua",
        "dashboard",
        "templates",
        "static",
    ]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not ignored(path), f".dockerignore drops {path}, which the image needs"
    for path in (".git", ".venv", "tests", "var", "deploy", "docker-compose.yml", ".env"):
        assert ignored(path), f"{path} should not be sent to the build"
    assert ignored("jobs/__pycache__/x.pyc")


# --- commands and health checks -----------------------------------------------------------
@cache
def management_commands() -> dict[str, str]:
    from django.core.management import get_commands

    return get_commands()


def check_manage_py(args: list[str]) -> None:
    from django.core.management import load_command_class

    name, options = args[0], args[1:]
    commands = management_commands()
    assert name in commands, f"manage.py {name}: no such command"
    command = load_command_class(commands[name], name)
    command.create_parser("manage.py", name).parse_args(options)  # exits on a bad option


def check_module(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"no module {module}"
    relative = Path(spec.origin).resolve().relative_to(ROOT).as_posix()
    assert not ignored(relative), f"{relative} is not sent to the image (.dockerignore)"


def check_command(argv: list[str], role: str | None = None) -> None:
    """A container's command or health check: each program and what it names exists."""
    if argv[:2] == ["sh", "-c"]:
        for part in re.split(r"&&|;", argv[2]):
            check_command(shlex.split(part), role)
        return
    if argv and argv[0] == "CMD":
        argv = argv[1:]
    assert argv, "empty command"
    if argv[0] == "gunicorn":
        config = argv[argv.index("-c") + 1]
        assert (ROOT / config).is_file() and not ignored(config), config
        check_module(argv[-1].split(":")[0])
        return
    assert argv[0] == "python", argv
    if argv[1] == "manage.py":
        check_manage_py(argv[2:])
    elif argv[1] == "-m":
        check_module(argv[2])
        if argv[2] == "queuey_site.container_health":
            parsed = container_health.build_parser().parse_args(argv[3:])
            if role is not None:
                assert role in ROLES, role
            if parsed.ready:
                assert role == "api", "--ready is the api role's"
    else:
        pytest.fail(f"unexpected command {argv}")


# --- docker-compose.yml -------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, Any]:
    return compose()["services"]


def service_env(name: str) -> dict[str, str]:
    env = services()[name].get("environment") or {}
    assert isinstance(env, dict), f"{name}: environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def effective_env(name: str) -> dict[str, str]:
    return {**image_env(), **service_env(name)}


def seconds(duration: str | int) -> float:
    total = 0.0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration)):
        total += float(number) * units[unit]
    return total


def test_our_services_run_the_image_built_here():
    for name in APP_SERVICES:
        assert services()[name].get("build") == ".", name
        assert services()[name].get("image") == "queuey:local", name


def test_every_variable_compose_gives_our_containers_is_read_by_the_code():
    for name in APP_SERVICES:
        unknown = sorted(n for n in service_env(name) if not _known(n))
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
        assert not set(service_env(name)) & TEST_ONLY_VARS, name
        assert service_env(name).get("DJANGO_DEBUG", "false") == "false", name


def test_compose_commands_exist():
    for name in APP_SERVICES:
        role = service_env(name).get("QUEUEY_ROLE")
        check_command(services()[name]["command"], role)


def test_compose_health_checks_use_readyz_and_the_heartbeat():
    expected = {"api": ["--ready"], "worker": [], "watchdog": []}
    for name, flags in expected.items():
        assert service_env(name)["QUEUEY_ROLE"] == name
        test = services()[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "queuey_site.container_health"], test
        check_command(test, role=name)
        parsed = container_health.build_parser().parse_args(test[4:])
        assert parsed.ready == ("--ready" in flags), name
        if name != "api":
            # Long enough for the slowest heartbeat: the lease keeper's interval, the
            # watchdog's pass interval (both well under the limit with their defaults).
            assert parsed.max_age >= 3 * settings.QUEUEY_HEARTBEAT_INTERVAL
            assert parsed.max_age >= 10 * settings.QUEUEY_WATCHDOG_INTERVAL
            assert effective_env(name)["QUEUEY_HEARTBEAT_FILE"]
    assert services()["migrate"]["healthcheck"] == {"disable": True}
    for name in ("postgres", "redis"):
        assert services()[name]["healthcheck"]["test"], name


def test_redis_keeps_its_data_and_never_evicts():
    command = services()["redis"]["command"]
    text = " ".join(command) if isinstance(command, list) else command
    assert re.search(r"--appendonly\s+yes\b", text), text
    assert re.search(r"--maxmemory-policy\s+noeviction\b", text), text
    assert any(v.endswith(":/data") for v in services()["redis"]["volumes"])


def test_postgres_has_a_volume_and_a_health_check():
    postgres = services()["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    url = service_env("api")["DATABASE_URL"]
    env = postgres["environment"]
    assert url == (
        f"postgres://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{env['POSTGRES_DB']}"
    )
    assert service_env("api")["REDIS_URL"].startswith("redis://redis:6379/")


def test_the_migrate_one_shot_gates_api_worker_and_watchdog():
    migrate = services()["migrate"]
    assert "manage.py migrate" in " ".join(migrate["command"])
    assert migrate["restart"] == "no"
    for dependency in ("postgres", "redis"):
        assert migrate["depends_on"][dependency]["condition"] == "service_healthy"
    for name in ("api", "worker", "watchdog"):
        depends = services()[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        for dependency in ("postgres", "redis"):
            assert depends[dependency]["condition"] == "service_healthy", name


def test_workers_scale_no_fixed_name_or_host_port():
    for name in ("worker", "watchdog"):
        service = services()[name]
        assert "container_name" not in service, f"{name}: --scale needs no container_name"
        assert "ports" not in service, f"{name}: a host port would clash at --scale {name}=2"
    for service in services().values():
        assert "container_name" not in service


def test_sigterm_drains_fit_in_the_stop_grace_periods():
    grace = float(service_env("worker").get("QUEUEY_SHUTDOWN_GRACE", 0) or 0)
    grace = grace or settings.QUEUEY_SHUTDOWN_GRACE
    assert seconds(services()["worker"]["stop_grace_period"]) >= grace + 5
    graceful = float(service_env("api").get("GUNICORN_GRACEFUL_TIMEOUT", 25))
    assert seconds(services()["api"]["stop_grace_period"]) >= graceful
    assert seconds(services()["watchdog"]["stop_grace_period"]) >= 10


def test_compose_ports_match_prometheus_targets_and_the_published_ones():
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    listening = {
        "api": container_health.api_url("", effective_env("api")).rsplit(":", 1)[1],
        "worker": service_env("worker")["QUEUEY_WORKER_METRICS_PORT"],
        "watchdog": service_env("watchdog")["QUEUEY_WATCHDOG_METRICS_PORT"],
    }
    targets: set[tuple[str, str]] = set()
    for scrape in config["scrape_configs"]:
        for static in scrape.get("static_configs", []):
            targets.update(tuple(t.rsplit(":", 1)) for t in static["targets"])
        for dns in scrape.get("dns_sd_configs", []):
            targets.update((n, str(dns["port"])) for n in dns["names"])
    targets.discard(("localhost", "9090"))
    assert targets == set(listening.items()), (targets, listening)
    for name in ("worker", "watchdog"):
        assert service_env(name)["QUEUEY_METRICS_ADDR"] == "0.0.0.0", name
        assert listening[name] in [str(p) for p in services()[name].get("expose", [])]
    assert "8000:8000" in services()["api"]["ports"]
    assert "3000:3000" in services()["grafana"]["ports"]
    assert "9090:9090" in services()["prometheus"]["ports"]
    assert "prometheus.yml" in " ".join(services()["prometheus"]["command"])


def test_every_mounted_file_exists_and_the_alert_rules_are_mounted():
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source, _target = volume.split(":")[:2]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    mounts = dict(v.split(":")[:2] for v in services()["prometheus"]["volumes"])
    rules = yaml.safe_load(PROMETHEUS_YML.read_text())["rule_files"]
    config_dir = Path(mounts["./prometheus/prometheus.yml"]).parent
    for rule in rules:
        assert f"./prometheus/{rule}" in mounts, rule
        assert Path(mounts[f"./prometheus/{rule}"]) == config_dir / rule


def test_grafana_is_provisioned_with_the_datasource_uid_and_the_dashboard():
    mounts = dict(v.split(":")[:2] for v in services()["grafana"]["volumes"])
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning = ROOT / "grafana" / "provisioning"
    providers = yaml.safe_load(next((provisioning / "dashboards").glob("*.y*ml")).read_text())
    path = providers["providers"][0]["options"]["path"]
    assert mounts["./grafana/dashboards"] == path
    datasources = yaml.safe_load(next((provisioning / "datasources").glob("*.y*ml")).read_text())
    datasource = datasources["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads((ROOT / "grafana" / "dashboards" / "queuey.json").read_text())
    uids = set(re.findall(r'"uid":\s*"([^"]+)"', json.dumps(dashboard["panels"])))
    assert datasource["uid"] in uids, "the panels use the provisioned datasource's uid"
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{path}/queuey.json"


def test_compose_file_is_valid_against_the_compose_specification():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    checker = jsonschema.FormatChecker()

    @checker.checks("duration")
    def _go_duration(value: object) -> bool:  # compose's durations: 1m30s, 10s, 500ms
        return not isinstance(value, str) or bool(
            re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", value)
        )

    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=checker)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors
    broken = {**compose(), "services": {**services(), "x": {"image": "a", "helthcheck": {}}}}
    assert list(validator.iter_errors(broken)), "the schema catches a misspelt key"


def _docker_compose_available() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        return "docker is installed without the compose plugin (`docker compose` unknown)"
    return None


def test_docker_compose_config_accepts_the_file():
    reason = _docker_compose_available()
    if reason:
        pytest.skip(f"docker compose config -q not run: {reason}")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- deploy/ecs ---------------------------------------------------------------------------
def task_definitions() -> dict[str, dict[str, Any]]:
    found = {p.name.split("-task-definition")[0]: p for p in ECS_DIR.glob("*-task-definition.json")}
    assert set(found) == {"api", "worker", "watchdog", "migrate"}, sorted(found)
    return {name: json.loads(path.read_text()) for name, path in found.items()}


def main_container(name: str, task: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in task["containerDefinitions"] if c["name"] == name)


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def test_ecs_task_definitions_are_fargate_sized_and_use_only_known_placeholders():
    for name, task in task_definitions().items():
        assert task["requiresCompatibilities"] == ["FARGATE"], name
        assert task["networkMode"] == "awsvpc", name
        cpu, memory = int(task["cpu"]), int(task["memory"])
        assert memory in FARGATE_SIZES[cpu], f"{name}: {cpu} CPU units with {memory} MiB"
        assert task["executionRoleArn"] and task["taskRoleArn"], name
        text = json.dumps(task)
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
        assert placeholders <= ECS_PLACEHOLDERS, placeholders - ECS_PLACEHOLDERS
        assert main_container(name, task)["image"] == "${IMAGE}", name


def test_ecs_environment_is_read_by_the_code_and_secrets_come_from_ssm_or_secrets_manager():
    for name, task in task_definitions().items():
        container = main_container(name, task)
        env = container_env(container)
        unknown = sorted(n for n in env if not _known(n))
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
        assert not set(env) & TEST_ONLY_VARS, name
        assert env.get("DJANGO_DEBUG", "false") == "false", name
        secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(secrets), name
        assert not set(secrets) & set(env), f"{name}: a secret also in plain environment"
        assert all(_known(n) for n in secrets), name
        for secret, source in secrets.items():
            assert source.startswith(("/", "arn:aws:ssm:", "arn:aws:secretsmanager:")), (
                f"{name}: {secret} from {source}"
            )
        for variable in env:
            assert not re.search(r"SECRET|PASSWORD|TOKEN", variable), f"{name}: {variable}"


def test_ecs_commands_health_checks_and_logs():
    for name, task in task_definitions().items():
        container = main_container(name, task)
        env = container_env(container)
        role = env.get("QUEUEY_ROLE")
        check_command(container["command"], role)
        assert container["essential"] is True
        assert container["user"].split(":")[0] not in {"root", "0"}
        logs = container["logConfiguration"]
        assert logs["logDriver"] == "awslogs", name
        assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(logs["options"])
        assert env.get("QUEUEY_LOG_FORMAT") == "json", name
        if name == "migrate":
            assert "healthCheck" not in container  # a one-off task
            assert container["command"][:3] == ["python", "manage.py", "migrate"]
            continue
        assert role == name, f"{name}: QUEUEY_ROLE={role}"
        health = container["healthCheck"]
        check_command(health["command"], role)
        assert health["command"][:4] == ["CMD", "python", "-m", "queuey_site.container_health"]
        # Liveness only: /readyz belongs to the load balancer's target group, or one
        # database outage would have ECS replace every API task at once.
        assert "--ready" not in health["command"]
        assert 5 <= health["interval"] <= 300 and 2 <= health["timeout"] <= 60
        assert 1 <= health["retries"] <= 10 and 0 <= health["startPeriod"] <= 300
        assert health["timeout"] < health["interval"]


def test_ecs_commands_match_compose():
    for name, task in task_definitions().items():
        if name == "migrate":
            continue
        assert main_container(name, task)["command"] == services()[name]["command"], name


def test_ecs_stop_timeouts_cover_the_sigterm_drains():
    for name, task in task_definitions().items():
        container = main_container(name, task)
        env = container_env(container)
        stop = container["stopTimeout"]
        assert stop <= FARGATE_MAX_STOP_TIMEOUT, name
        grace = float(env.get("QUEUEY_SHUTDOWN_GRACE") or settings.QUEUEY_SHUTDOWN_GRACE)
        assert stop >= grace, f"{name}: stopTimeout {stop} < QUEUEY_SHUTDOWN_GRACE {grace}"
        if name == "worker":
            assert stop >= grace + 10, "room for the release after the grace"
        if name == "api":
            assert stop > float(env.get("GUNICORN_GRACEFUL_TIMEOUT", 25))
        assert container["linuxParameters"]["initProcessEnabled"] is True


def test_ecs_ports_match_what_the_processes_listen_on():
    tasks = task_definitions()
    api = main_container("api", tasks["api"])
    port = int(container_health.api_url("", container_env(api)).rsplit(":", 1)[1])
    assert [p["containerPort"] for p in api["portMappings"]] == [port]
    for name, setting in (
        ("worker", "QUEUEY_WORKER_METRICS_PORT"),
        ("watchdog", "QUEUEY_WATCHDOG_METRICS_PORT"),
    ):
        container = main_container(name, tasks[name])
        env = container_env(container)
        assert [p["containerPort"] for p in container["portMappings"]] == [int(env[setting])]
        assert env["QUEUEY_METRICS_ADDR"] == "0.0.0.0"
    for task in tasks.values():
        for container in task["containerDefinitions"]:
            for mapping in container.get("portMappings", []):
                assert mapping.get("hostPort", mapping["containerPort"]) == mapping["containerPort"]


def test_the_api_metrics_stay_off_the_load_balancer_and_reach_the_collector():
    """Behind a load balancer every client arrives from a private address, so /metrics is
    allowed to loopback only; the ADOT sidecar scrapes it there."""
    task = task_definitions()["api"]
    env = container_env(main_container("api", task))
    networks = env["QUEUEY_METRICS_ALLOWED_NETWORKS"].split(",")
    assert set(networks) <= {"127.0.0.0/8", "::1/128"}, networks
    sidecar = main_container("adot-collector", task)
    assert sidecar["essential"] is False  # metrics never take the API down
    config = yaml.safe_load((ECS_DIR / "adot-collector.yaml").read_text())
    scrape = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"][0]["targets"] == [
        container_health.api_url("", env).removeprefix("http://")
    ]
    selectors = {
        s
        for d in config["exporters"]["awsemf"]["metric_declarations"]
        for s in d["metric_name_selectors"]
    }
    assert {"^queuey_queue_depth$", "^queuey_oldest_job_age_seconds$"} <= selectors
    from jobs.store_gauges import StoreGauges  # the gauges exist under these names

    source = Path(importlib.util.find_spec(StoreGauges.__module__).origin).read_text()
    assert '"queuey_queue_depth"' in source and '"queuey_oldest_job_age_seconds"' in source
