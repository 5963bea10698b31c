//! The deployment files read against the binary, since no test here can run Docker or a
//! cluster: `Dockerfile`, `docker-compose.yml` and `deploy/kubernetes/*.yaml`.
//!
//! For every role container: its command parses (with clap, as the binary would) as the
//! expected subcommand, with its environment applied as flags so values are checked too; every
//! `IRONMAGE_*`, `DATABASE_URL`, `REDIS_URL` and `RUST_LOG` it sets is read by the binary; it
//! is on PostgreSQL and Redis; the ports it exposes and the health checks it gets are its
//! role's; the project and artifact folders are shared volumes where the role needs them.
//! Compose's `depends_on` name real services; Kubernetes references (ConfigMap, Secret, PVC,
//! Service selector, HPA target) resolve. The Dockerfile builds the `ironmage` bin and runs it.

use clap::{ArgAction, CommandFactory, FromArgMatches};
use ironmage::config::{Cli, Command};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Fail with every problem found, not only the first.
fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---- what the binary says ------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Web,
    Scheduler,
    Executor,
    Predict,
}

impl Role {
    const ALL: [Role; 4] = [Role::Web, Role::Scheduler, Role::Executor, Role::Predict];

    /// The role a service or Deployment is named after in these files.
    fn named(name: &str) -> Option<Role> {
        match name {
            "web" | "ironmage-web" => Some(Role::Web),
            "scheduler" | "ironmage-scheduler" => Some(Role::Scheduler),
            "executor" | "ironmage-executor" => Some(Role::Executor),
            "prediction" | "ironmage-prediction" => Some(Role::Predict),
            _ => None,
        }
    }

    fn of(command: &Command) -> Option<Role> {
        match command {
            Command::Web(_) => Some(Role::Web),
            Command::Scheduler(_) => Some(Role::Scheduler),
            Command::Executor(_) => Some(Role::Executor),
            Command::Predict(_) => Some(Role::Predict),
            _ => None,
        }
    }

    /// The subcommand and the id of its listening-address flag.
    fn clap_names(self) -> (&'static str, &'static str) {
        match self {
            Role::Web => ("web", "web_addr"),
            Role::Scheduler => ("scheduler", "scheduler_health_addr"),
            Role::Executor => ("executor", "executor_health_addr"),
            Role::Predict => ("predict", "predict_addr"),
        }
    }

    /// The port the docs and the brief of each role promise.
    fn documented_port(self) -> u16 {
        match self {
            Role::Web => 6789,
            Role::Scheduler => 6790,
            Role::Executor => 6791,
            Role::Predict => 5000,
        }
    }

    /// Paths a health check or probe of this role may use.
    fn health_paths(self) -> &'static [&'static str] {
        match self {
            Role::Web => &["/api/health"],
            Role::Scheduler | Role::Executor => &["/health"],
            Role::Predict => &["/health", "/ready"],
        }
    }

    /// Web and executors load pipelines; the scheduler fires triggers (it reads pipelines,
    /// their triggers.yaml and the folders file triggers watch).
    fn needs_project(self) -> bool {
        matches!(self, Role::Web | Role::Executor | Role::Scheduler)
    }

    fn writes_artifacts(self) -> bool {
        self == Role::Executor
    }

    fn reads_artifacts(self) -> bool {
        matches!(self, Role::Executor | Role::Predict)
    }
}

/// The port of the role's listening address when nothing overrides it, from clap's default.
fn default_port(role: Role) -> u16 {
    let (sub, id) = role.clap_names();
    let cli = Cli::command();
    let arg = cli
        .find_subcommand(sub)
        .and_then(|c| c.get_arguments().find(|a| a.get_id() == id))
        .unwrap_or_else(|| panic!("no {id} in `ironmage {sub}`"));
    let default = arg.get_default_values()[0].to_string_lossy().to_string();
    port_of(&default).unwrap_or_else(|| panic!("default {default:?} of {id} has no port"))
}

fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit(':').next()?.parse().ok()
}

/// Every environment variable the binary reads: clap's `env` names plus `RUST_LOG`.
fn known_env() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, names: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                names.insert(env.to_string_lossy().to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, names);
        }
    }
    let mut names = BTreeSet::from(["RUST_LOG".to_string()]);
    walk(&Cli::command(), &mut names);
    names
}

/// Names the deployment files must only set to something the binary reads.
fn is_ours(name: &str) -> bool {
    name.starts_with("IRONMAGE_") || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name)
}

/// Parse a container's command line as the binary would, with its environment turned into the
/// flags it stands for (so a value clap would refuse fails here too). Variables of another
/// subcommand are ignored, as clap ignores them.
fn parse_role(args: &[String], env: &BTreeMap<String, String>) -> Result<Cli, String> {
    let root = Cli::command();
    let sub = args
        .first()
        .and_then(|name| root.find_subcommand(name))
        .ok_or_else(|| format!("{args:?} does not start with an ironmage subcommand"))?;
    let mut argv: Vec<String> = vec!["ironmage".into()];
    argv.extend(args.iter().cloned());
    for arg in root.get_arguments().chain(sub.get_arguments()) {
        let (Some(name), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let Some(value) = env.get(&*name.to_string_lossy()) else {
            continue;
        };
        let flag = format!("--{long}");
        if args
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
        {
            continue; // the flag beats the variable
        }
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "y" => argv.push(flag),
                "false" | "0" | "no" | "off" | "n" | "" => {}
                other => return Err(format!("{name:?}={other:?} is not a boolean")),
            }
        } else {
            argv.push(format!("{flag}={value}"));
        }
    }
    // Parse with env lookups removed, so this test's own environment cannot fill a gap.
    without_env(Cli::command())
        .try_get_matches_from(&argv)
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|e| format!("`{}`: {e}", argv.join(" ")))
}

/// The command tree with no `env` on any argument.
fn without_env(cmd: clap::Command) -> clap::Command {
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.mut_args(|arg| arg.env(None::<&str>));
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, without_env);
    }
    cmd
}

// ---- one shape for a role container, whatever file it comes from --------------------------

#[derive(Debug, Clone)]
struct Mount {
    /// Compose volume name, or Kubernetes PVC claim name.
    source: String,
    target: PathBuf,
    read_only: bool,
}

#[derive(Debug, Default)]
struct RoleContainer {
    origin: String,
    /// Arguments after the `ironmage` entrypoint.
    args: Vec<String>,
    env: BTreeMap<String, String>,
    ports: Vec<u16>,
    /// Health checks and probes: (port, path).
    probes: Vec<(u16, String)>,
    mounts: Vec<Mount>,
}

/// Check one role container; returns its role and its parsed command line.
fn check_role_container(
    c: &RoleContainer,
    expected: Role,
    known: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Option<Cli> {
    let o = &c.origin;
    for name in c.env.keys().filter(|n| is_ours(n)) {
        if !known.contains(name) {
            problems.push(format!("{o}: sets {name}, which the binary does not read"));
        }
    }
    let cli = match parse_role(&c.args, &c.env) {
        Ok(cli) => cli,
        Err(e) => {
            problems.push(format!("{o}: {e}"));
            return None;
        }
    };
    let role = Role::of(&cli.command);
    if role != Some(expected) {
        problems.push(format!(
            "{o}: runs {:?}, expected the {expected:?} role",
            c.args
        ));
        return None;
    }
    // Production topology: a shared store and a shared queue, or runs are never seen.
    match &cli.storage.database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {}
        other => problems.push(format!(
            "{o}: DATABASE_URL must be a postgres:// URL, got {other:?}"
        )),
    }
    match &cli.storage.redis_url {
        Some(url) if url.starts_with("redis://") => {}
        other => problems.push(format!(
            "{o}: REDIS_URL must be a redis:// URL, got {other:?}"
        )),
    }
    // The address the role listens on, after flags and variables.
    let addr = match &cli.command {
        Command::Web(a) => a.web_addr.clone(),
        Command::Scheduler(a) => a.scheduler_health_addr.clone(),
        Command::Executor(a) => a.executor_health_addr.clone(),
        Command::Predict(a) => a.predict_addr.clone(),
        _ => unreachable!(),
    };
    let port = port_of(&addr);
    if port != Some(expected.documented_port()) {
        problems.push(format!(
            "{o}: listens on {addr}, expected port {}",
            expected.documented_port()
        ));
    }
    if !addr.starts_with("0.0.0.0:") && !addr.starts_with("[::]:") {
        problems.push(format!(
            "{o}: listens on {addr}, unreachable from outside the container"
        ));
    }
    for p in &c.ports {
        if Some(*p) != port {
            problems.push(format!(
                "{o}: exposes port {p}, but the role listens on {addr}"
            ));
        }
    }
    if c.probes.is_empty() {
        problems.push(format!("{o}: no health check"));
    }
    for (probe_port, path) in &c.probes {
        if Some(*probe_port) != port {
            problems.push(format!(
                "{o}: health check on port {probe_port}, but the role listens on {addr}"
            ));
        }
        if !expected.health_paths().contains(&path.as_str()) {
            problems.push(format!(
                "{o}: health check on {path}, expected one of {:?}",
                expected.health_paths()
            ));
        }
    }
    // Shared folders where the role needs them.
    let mount_at = |dir: &Path| c.mounts.iter().find(|m| m.target == dir);
    let project = &cli.storage.project_dir;
    if expected.needs_project() && mount_at(project).is_none() {
        problems.push(format!(
            "{o}: no volume on the project folder {}",
            project.display()
        ));
    }
    let artifacts = cli
        .storage
        .artifact_dir
        .clone()
        .unwrap_or_else(|| cli.storage.data_dir.join("artifacts"));
    match mount_at(&artifacts) {
        None if expected.reads_artifacts() => problems.push(format!(
            "{o}: no volume on the artifact folder {}",
            artifacts.display()
        )),
        Some(m) if m.read_only && expected.writes_artifacts() => problems.push(format!(
            "{o}: the artifact folder is read-only, but this role writes artifacts"
        )),
        _ => {}
    }
    Some(cli)
}

/// Roles that share a folder must mount the same volume on it.
fn check_shared_volumes(what: &str, found: &[(Role, Cli, Vec<Mount>)], problems: &mut Vec<String>) {
    let source_of = |cli: &Cli, mounts: &[Mount], artifacts: bool| {
        let dir = if artifacts {
            cli.storage
                .artifact_dir
                .clone()
                .unwrap_or_else(|| cli.storage.data_dir.join("artifacts"))
        } else {
            cli.storage.project_dir.clone()
        };
        mounts
            .iter()
            .find(|m| m.target == dir)
            .map(|m| m.source.clone())
    };
    for (folder, artifacts, needs) in [
        ("project", false, Role::needs_project as fn(Role) -> bool),
        ("artifact", true, Role::reads_artifacts),
    ] {
        let sources: BTreeSet<_> = found
            .iter()
            .filter(|(role, _, _)| needs(*role))
            .filter_map(|(_, cli, mounts)| source_of(cli, mounts, artifacts))
            .collect();
        if sources.len() > 1 {
            problems.push(format!(
                "{what}: the roles mount different volumes on the {folder} folder: {sources:?}"
            ));
        }
    }
}

// ---- YAML helpers ----------------------------------------------------------------------------

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(str_of).collect())
        .unwrap_or_default()
}

fn port_value(v: &Value) -> Option<u16> {
    v.as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// `http://host:port/path` → (port, path).
fn url_port_path(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    Some((port_of(authority).unwrap_or(80), path))
}

/// A Secret's `data` value.
fn base64_decode(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut bits, mut count, mut out) = (0u32, 0, vec![]);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Compose's `${NAME:-default}` / `${NAME-default}` / `${NAME}` → the default (or nothing).
fn interpolate(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        let default = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .map(|(_, d)| d)
            .unwrap_or("");
        out.push_str(default);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

// ---- docker-compose.yml ----------------------------------------------------------------------

fn compose() -> Value {
    let mut doc: Value = serde_yaml::from_str(&read("docker-compose.yml"))
        .expect("docker-compose.yml is not valid YAML");
    doc.apply_merge().expect("docker-compose.yml merge keys");
    doc
}

fn compose_env(service: &Value) -> BTreeMap<String, String> {
    match get(service, "environment") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((str_of(k)?, interpolate(&str_of(v).unwrap_or_default()))))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), interpolate(v)),
                None => (item.to_string(), String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn compose_command(service: &Value) -> Vec<String> {
    match get(service, "command") {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        other => strings(other),
    }
}

fn compose_ports(service: &Value, origin: &str, problems: &mut Vec<String>) -> Vec<u16> {
    let mut ports = vec![];
    for p in get(service, "ports")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let target = match p {
            Value::Mapping(_) => get(p, "target").and_then(port_value),
            other => str_of(other).and_then(|s| {
                let s = s.split('/').next().unwrap_or_default().to_string();
                s.rsplit(':').next().and_then(|t| t.parse().ok())
            }),
        };
        match target {
            Some(t) => ports.push(t),
            None => problems.push(format!("{origin}: unreadable port {p:?}")),
        }
    }
    ports
}

fn compose_healthcheck(service: &Value) -> Vec<(u16, String)> {
    let test = match get(service, "healthcheck").and_then(|h| get(h, "test")) {
        Some(Value::String(s)) => vec![s.clone()],
        other => strings(other),
    };
    test.iter()
        .flat_map(|t| t.split_whitespace())
        .filter_map(url_port_path)
        .collect()
}

fn compose_mounts(service: &Value) -> Vec<Mount> {
    get(service, "volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                Some(Mount {
                    source: parts.first()?.to_string(),
                    target: PathBuf::from(parts.get(1)?),
                    read_only: parts
                        .get(2)
                        .is_some_and(|o| o.split(',').any(|o| o == "ro")),
                })
            }
            Value::Mapping(_) => Some(Mount {
                source: str_of(get(v, "source")?)?,
                target: PathBuf::from(str_of(get(v, "target")?)?),
                read_only: get(v, "read_only").and_then(Value::as_bool) == Some(true),
            }),
            _ => None,
        })
        .collect()
}

fn is_ironmage_service(service: &Value) -> bool {
    get(service, "build").is_some()
        || get(service, "image")
            .and_then(Value::as_str)
            .is_some_and(|i| i.rsplit('/').next().unwrap_or(i).starts_with("ironmage"))
}

fn check_compose(doc: &Value) -> Vec<String> {
    let known = known_env();
    let mut problems = vec![];
    let services = get(doc, "services")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml has no services");
    let volumes: BTreeSet<String> = get(doc, "volumes")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(str_of).collect())
        .unwrap_or_default();
    let mut found = vec![];
    for (name, service) in services {
        let name = str_of(name).unwrap_or_default();
        let origin = format!("docker-compose.yml: service {name}");
        // depends_on: list or map; every name a service, healthy only if it has a healthcheck.
        let deps: Vec<(String, Option<String>)> = match get(service, "depends_on") {
            Some(Value::Sequence(s)) => s.iter().filter_map(str_of).map(|d| (d, None)).collect(),
            Some(Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        str_of(k)?,
                        get(v, "condition")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    ))
                })
                .collect(),
            _ => vec![],
        };
        for (dep, condition) in &deps {
            match services.get(dep.as_str()) {
                None => problems.push(format!("{origin}: depends on {dep}, which is no service")),
                Some(target) => {
                    if condition.as_deref() == Some("service_healthy")
                        && get(target, "healthcheck").is_none()
                    {
                        problems.push(format!(
                            "{origin}: waits for {dep} to be healthy, but {dep} has no healthcheck"
                        ));
                    }
                }
            }
            if let Some(c) = condition {
                if ![
                    "service_started",
                    "service_healthy",
                    "service_completed_successfully",
                ]
                .contains(&c.as_str())
                {
                    problems.push(format!("{origin}: unknown depends_on condition {c}"));
                }
            }
        }
        // Named volumes are declared.
        for m in compose_mounts(service) {
            let is_path = m.source.starts_with('.') || m.source.starts_with('/');
            if !is_path && !volumes.contains(&m.source) {
                problems.push(format!(
                    "{origin}: mounts volume {}, which is not declared",
                    m.source
                ));
            }
        }
        if !is_ironmage_service(service) {
            continue;
        }
        let Some(role) = Role::named(&name) else {
            problems.push(format!(
                "{origin}: runs the ironmage image but is not named after a role"
            ));
            continue;
        };
        if get(service, "entrypoint").is_some() {
            problems.push(format!(
                "{origin}: overrides the entrypoint; the image's is ironmage"
            ));
        }
        for infra in ["postgres", "redis"] {
            if !deps
                .iter()
                .any(|(d, c)| d == infra && c.as_deref() == Some("service_healthy"))
            {
                problems.push(format!("{origin}: does not wait for {infra} to be healthy"));
            }
        }
        if get(service, "restart").is_none()
            && get(service, "deploy")
                .and_then(|d| get(d, "restart_policy"))
                .is_none()
        {
            problems.push(format!("{origin}: no restart policy"));
        }
        let container = RoleContainer {
            origin: origin.clone(),
            args: compose_command(service),
            env: compose_env(service),
            ports: compose_ports(service, &origin, &mut problems),
            probes: compose_healthcheck(service),
            mounts: compose_mounts(service),
        };
        if let Some(cli) = check_role_container(&container, role, &known, &mut problems) {
            found.push((role, cli, container.mounts));
        }
    }
    let roles: BTreeSet<Role> = found.iter().map(|(r, _, _)| *r).collect();
    for role in Role::ALL {
        if !roles.contains(&role) {
            problems.push(format!(
                "docker-compose.yml: no service runs the {role:?} role"
            ));
        }
    }
    check_shared_volumes("docker-compose.yml", &found, &mut problems);
    problems
}

#[test]
fn compose_roles_match_the_binary() {
    assert_no_problems("docker-compose.yml", &check_compose(&compose()));
}

#[test]
fn compose_mirrors_the_microservices_demo() {
    let doc = compose();
    let services = &doc["services"];
    let image = |s: &str| {
        services[s]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        image("postgres").starts_with("postgres:16"),
        "{}",
        image("postgres")
    );
    assert!(image("redis").starts_with("redis:7"), "{}", image("redis"));
    assert_eq!(services["executor"]["deploy"]["replicas"].as_u64(), Some(2));
    let executor = compose_command(&services["executor"]);
    let cli = parse_role(&executor, &BTreeMap::new()).unwrap();
    let Command::Executor(args) = cli.command else {
        panic!("{executor:?}")
    };
    assert_eq!(
        args.concurrency, 20,
        "the seed's executor pool has 20 workers"
    );
}

// ---- deploy/kubernetes/*.yaml ----------------------------------------------------------------

/// Every YAML document of deploy/kubernetes, with the file it comes from.
type Documents = Vec<(String, Value)>;

fn kubernetes_docs() -> Documents {
    let dir = repo_root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut docs = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = format!(
            "deploy/kubernetes/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        for (i, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let doc = Value::deserialize(de)
                .unwrap_or_else(|e| panic!("{name}: document {i} is not valid YAML: {e}"));
            if !doc.is_null() {
                docs.push((name.clone(), doc));
            }
        }
    }
    docs
}

fn kind_name(doc: &Value) -> (String, String) {
    (
        doc["kind"].as_str().unwrap_or_default().to_string(),
        doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn probe_of(probe: &Value, ports: &BTreeMap<String, u16>) -> Option<(u16, String)> {
    let http = get(probe, "httpGet")?;
    let port = match get(http, "port")? {
        Value::String(name) => *ports.get(name)?,
        other => port_value(other)?,
    };
    Some((port, str_of(get(http, "path")?)?))
}

fn check_kubernetes(docs: &[(String, Value)]) -> Vec<String> {
    let known = known_env();
    let mut problems = vec![];
    let mut by_kind: BTreeMap<String, BTreeMap<String, (&str, &Value)>> = BTreeMap::new();
    for (file, doc) in docs {
        let (kind, name) = kind_name(doc);
        if kind.is_empty() || name.is_empty() || doc["apiVersion"].as_str().is_none() {
            problems.push(format!(
                "{file}: a document without apiVersion, kind or name"
            ));
            continue;
        }
        if get(&doc["metadata"], "namespace").is_some() {
            problems.push(format!(
                "{file}: {kind} {name} sets a namespace; the manifests are namespace-free"
            ));
        }
        if by_kind
            .entry(kind.clone())
            .or_default()
            .insert(name.clone(), (file.as_str(), doc))
            .is_some()
        {
            problems.push(format!("{file}: {kind} {name} is defined twice"));
        }
    }
    let empty = BTreeMap::new();
    let of_kind = |k: &str| by_kind.get(k).unwrap_or(&empty);

    // Env sources: every key of a ConfigMap or Secret becomes a variable through envFrom.
    let mut env_sources: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for (kind, field) in [
        ("ConfigMap", "data"),
        ("Secret", "stringData"),
        ("Secret", "data"),
    ] {
        for (name, (file, doc)) in of_kind(kind) {
            let entry = env_sources
                .entry((kind.to_string(), name.clone()))
                .or_default();
            for (k, v) in get(doc, field)
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                let key = str_of(k).unwrap_or_default();
                if is_ours(&key) && !known.contains(&key) {
                    problems.push(format!(
                        "{file}: {kind} {name} sets {key}, which the binary does not read"
                    ));
                }
                let value = str_of(v).unwrap_or_default();
                let value = if kind == "Secret" && field == "data" {
                    base64_decode(&value).unwrap_or_else(|| {
                        problems.push(format!("{file}: Secret {name}: {key} is not base64"));
                        String::new()
                    })
                } else {
                    value
                };
                entry.insert(key, value);
            }
        }
    }
    for (name, (file, doc)) in of_kind("PersistentVolumeClaim") {
        if !strings(doc["spec"].get("accessModes")).contains(&"ReadWriteMany".to_string()) {
            problems.push(format!(
                "{file}: PVC {name} is shared by several pods and must be ReadWriteMany"
            ));
        }
    }

    let mut found = vec![];
    let mut deployment_ports: BTreeMap<String, (Mapping, BTreeSet<u16>)> = BTreeMap::new();
    for (name, (file, doc)) in of_kind("Deployment") {
        let origin = format!("{file}: Deployment {name}");
        let spec = &doc["spec"];
        let pod = &spec["template"]["spec"];
        let labels = spec["template"]["metadata"]["labels"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        if let Some(selector) = spec["selector"]["matchLabels"].as_mapping() {
            for (k, v) in selector {
                if labels.get(k) != Some(v) {
                    problems.push(format!(
                        "{origin}: selector {k:?} does not match the pod labels"
                    ));
                }
            }
        } else {
            problems.push(format!("{origin}: no selector.matchLabels"));
        }
        // Pod volumes → claim names.
        let mut claims: BTreeMap<String, String> = BTreeMap::new();
        for v in pod["volumes"].as_sequence().into_iter().flatten() {
            let vname = str_of(&v["name"]).unwrap_or_default();
            if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
                if !of_kind("PersistentVolumeClaim").contains_key(claim) {
                    problems.push(format!(
                        "{origin}: volume {vname} claims {claim}, which is not defined"
                    ));
                }
                claims.insert(vname, claim.to_string());
            } else {
                claims.insert(vname.clone(), format!("(non-persistent {vname})"));
            }
        }
        let mut all_ports = BTreeSet::new();
        let role = Role::named(name);
        let containers = pod["containers"].as_sequence().cloned().unwrap_or_default();
        let init = pod["initContainers"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        for (is_init, c) in containers
            .iter()
            .map(|c| (false, c))
            .chain(init.iter().map(|c| (true, c)))
        {
            let cname = str_of(&c["name"]).unwrap_or_default();
            let corigin = format!("{origin} container {cname}");
            let mut env = BTreeMap::new();
            for from in c["envFrom"].as_sequence().into_iter().flatten() {
                for (kind, key) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                    if let Some(n) = from[key]["name"].as_str() {
                        match env_sources.get(&(kind.to_string(), n.to_string())) {
                            Some(vars) => env.extend(vars.clone()),
                            None => problems.push(format!(
                                "{corigin}: envFrom {kind} {n}, which is not defined"
                            )),
                        }
                    }
                }
            }
            for e in c["env"].as_sequence().into_iter().flatten() {
                let key = str_of(&e["name"]).unwrap_or_default();
                env.insert(key, str_of(&e["value"]).unwrap_or_default());
            }
            let mut named_ports = BTreeMap::new();
            let mut ports = vec![];
            for p in c["ports"].as_sequence().into_iter().flatten() {
                if let Some(port) = port_value(&p["containerPort"]) {
                    ports.push(port);
                    all_ports.insert(port);
                    if let Some(n) = p["name"].as_str() {
                        named_ports.insert(n.to_string(), port);
                    }
                }
            }
            let mut probes = vec![];
            for key in ["readinessProbe", "livenessProbe", "startupProbe"] {
                if let Some(probe) = get(c, key) {
                    match probe_of(probe, &named_ports) {
                        Some(p) => probes.push(p),
                        None => problems.push(format!(
                            "{corigin}: {key} is not an httpGet on a known port"
                        )),
                    }
                } else if !is_init && key != "startupProbe" {
                    problems.push(format!("{corigin}: no {key}"));
                }
            }
            let mounts: Vec<Mount> = c["volumeMounts"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    let vname = str_of(&m["name"])?;
                    let source = match claims.get(&vname) {
                        Some(s) => s.clone(),
                        None => {
                            problems.push(format!(
                                "{corigin}: mounts volume {vname}, which the pod does not define"
                            ));
                            return None;
                        }
                    };
                    Some(Mount {
                        source,
                        target: PathBuf::from(str_of(&m["mountPath"])?),
                        read_only: m["readOnly"].as_bool() == Some(true),
                    })
                })
                .collect();
            let image = c["image"].as_str().unwrap_or_default();
            let is_ours_image = image
                .rsplit('/')
                .next()
                .unwrap_or(image)
                .starts_with("ironmage");
            if is_init || !is_ours_image {
                continue;
            }
            let Some(role) = role else {
                problems.push(format!("{corigin}: runs the ironmage image but the Deployment is not named after a role"));
                continue;
            };
            let command = strings(get(c, "command"));
            let mut args = strings(get(c, "args"));
            match command.first().map(String::as_str) {
                None => {}
                Some(bin) if bin == "ironmage" || bin.ends_with("/ironmage") => {
                    args = command[1..].iter().cloned().chain(args).collect();
                }
                Some(other) => {
                    problems.push(format!("{corigin}: command runs {other}, not ironmage"))
                }
            }
            let container = RoleContainer {
                origin: corigin,
                args,
                env,
                ports,
                probes,
                mounts,
            };
            if let Some(cli) = check_role_container(&container, role, &known, &mut problems) {
                // Readiness of the prediction role waits for a model: /ready.
                if role == Role::Predict {
                    let ready = c["readinessProbe"]["httpGet"]["path"].as_str();
                    if ready != Some("/ready") {
                        problems.push(format!("{}: the readiness probe must be /ready (503 until a model is served), got {ready:?}", container.origin));
                    }
                }
                found.push((role, cli, container.mounts));
            }
        }
        deployment_ports.insert(name.clone(), (labels, all_ports));
    }
    let roles: BTreeSet<Role> = found.iter().map(|(r, _, _)| *r).collect();
    for role in Role::ALL {
        if !roles.contains(&role) {
            problems.push(format!(
                "deploy/kubernetes: no Deployment runs the {role:?} role"
            ));
        }
    }
    check_shared_volumes("deploy/kubernetes", &found, &mut problems);

    // Services select a Deployment's pods and target a port they listen on.
    let mut served = BTreeSet::new();
    for (name, (file, doc)) in of_kind("Service") {
        let origin = format!("{file}: Service {name}");
        let selector = doc["spec"]["selector"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        let targets: Vec<(&String, &BTreeSet<u16>)> = deployment_ports
            .iter()
            .filter(|(_, (labels, _))| {
                !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .map(|(n, (_, ports))| (n, ports))
            .collect();
        if targets.is_empty() {
            problems.push(format!("{origin}: selects no Deployment's pods"));
        }
        for (dname, ports) in &targets {
            served.insert((*dname).clone());
            for p in doc["spec"]["ports"].as_sequence().into_iter().flatten() {
                let target = p
                    .get("targetPort")
                    .or_else(|| p.get("port"))
                    .and_then(port_value);
                if !target.is_some_and(|t| ports.contains(&t)) {
                    problems.push(format!(
                        "{origin}: targets port {target:?}, but {dname} listens on {ports:?}"
                    ));
                }
            }
        }
    }
    for d in ["ironmage-web", "ironmage-prediction"] {
        if !served.contains(d) {
            problems.push(format!("deploy/kubernetes: no Service in front of {d}"));
        }
    }

    // Autoscalers scale a defined Deployment whose containers request what they measure.
    let mut scaled = BTreeSet::new();
    for (name, (file, doc)) in of_kind("HorizontalPodAutoscaler") {
        let origin = format!("{file}: HorizontalPodAutoscaler {name}");
        let target = &doc["spec"]["scaleTargetRef"];
        let tname = target["name"].as_str().unwrap_or_default();
        match of_kind("Deployment").get(tname) {
            Some((_, deployment)) if target["kind"].as_str() == Some("Deployment") => {
                scaled.insert(tname.to_string());
                for m in doc["spec"]["metrics"].as_sequence().into_iter().flatten() {
                    let Some(resource) = m["resource"]["name"].as_str() else {
                        continue;
                    };
                    for c in deployment["spec"]["template"]["spec"]["containers"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                    {
                        if c["resources"]["requests"][resource].is_null() {
                            problems.push(format!(
                                "{origin}: scales on {resource}, but {tname}'s containers request none"
                            ));
                        }
                    }
                }
            }
            _ => problems.push(format!(
                "{origin}: scales {tname}, which is no Deployment here"
            )),
        }
        let (min, max) = (
            doc["spec"]["minReplicas"].as_u64().unwrap_or(1),
            doc["spec"]["maxReplicas"].as_u64().unwrap_or(0),
        );
        if min > max {
            problems.push(format!("{origin}: minReplicas {min} > maxReplicas {max}"));
        }
    }
    for d in ["ironmage-executor", "ironmage-prediction"] {
        if !scaled.contains(d) {
            problems.push(format!(
                "deploy/kubernetes: no HorizontalPodAutoscaler for {d}"
            ));
        }
    }
    for kind in ["ConfigMap", "Secret", "PersistentVolumeClaim"] {
        if of_kind(kind).is_empty() {
            problems.push(format!("deploy/kubernetes: no {kind}"));
        }
    }
    problems
}

#[test]
fn kubernetes_manifests_match_the_binary() {
    assert_no_problems("deploy/kubernetes", &check_kubernetes(&kubernetes_docs()));
}

// ---- Dockerfile ------------------------------------------------------------------------------

/// Instructions with their arguments: comments dropped, continuation lines joined.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(stripped) = trimmed.strip_suffix('\\') {
            current.push_str(stripped);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let line = std::mem::take(&mut current);
        if let Some((instruction, args)) = line.split_once(char::is_whitespace) {
            out.push((instruction.to_ascii_uppercase(), args.trim().to_string()));
        }
    }
    out
}

fn check_dockerfile(text: &str, dockerignore: &str) -> Vec<String> {
    let mut problems = vec![];
    let instructions = dockerfile_instructions(text);
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| i == "FROM")
        .map(|(n, _)| n)
        .collect();
    if stages.len() < 2 {
        problems.push("Dockerfile: expected a build stage and a runtime stage".into());
        return problems;
    }
    let last = &instructions[*stages.last().unwrap()..];
    let build = &instructions[..*stages.last().unwrap()];

    // The build compiles the binary, reproducibly.
    let cargo = build
        .iter()
        .find(|(i, a)| i == "RUN" && a.contains("cargo build"));
    match cargo {
        None => problems.push("Dockerfile: no `cargo build` before the runtime stage".into()),
        Some((_, args)) => {
            for flag in ["--release", "--locked", "--bin ironmage"] {
                if !args.contains(flag) {
                    problems.push(format!("Dockerfile: `cargo build` without {flag}"));
                }
            }
        }
    }
    // What the build reads must be in the context: the workspace, migrations (sqlx::migrate!)
    // and the demo project (include_str! in core).
    let ignored: Vec<&str> = dockerignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    let mut copied = BTreeSet::new();
    for (_, args) in instructions.iter().filter(|(i, _)| i == "COPY") {
        let words: Vec<&str> = args.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let sources: Vec<&str> = words
            .iter()
            .filter(|w| !w.starts_with("--"))
            .copied()
            .collect();
        for src in &sources[..sources.len().saturating_sub(1)] {
            let src = src.trim_end_matches('/');
            if !repo_root().join(src).exists() {
                problems.push(format!(
                    "Dockerfile: COPY {src}, which is not in the repository"
                ));
            }
            if ignored.contains(&src) {
                problems.push(format!(
                    "Dockerfile: COPY {src}, which .dockerignore excludes"
                ));
            }
            copied.insert(src.to_string());
        }
    }
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "crates",
        "migrations",
        "project",
    ] {
        if !copied.contains(needed) {
            problems.push(format!(
                "Dockerfile: the build needs {needed}, which is not copied"
            ));
        }
    }
    for excluded in ["target", ".ironmage", "node_modules"] {
        if !ignored.contains(&excluded) {
            problems.push(format!(".dockerignore: does not exclude {excluded}"));
        }
    }

    // The runtime stage runs the binary, as a non-root user, on the roles' ports.
    let has = |name: &'static str| last.iter().filter(move |(i, _)| i == name);
    match has("ENTRYPOINT").next_back() {
        Some((_, args)) => match serde_json::from_str::<Vec<String>>(args) {
            Ok(argv) if argv == ["ironmage"] => {}
            Ok(argv) => problems.push(format!("Dockerfile: ENTRYPOINT is {argv:?}, expected [\"ironmage\"]")),
            Err(_) => problems.push(format!(
                "Dockerfile: ENTRYPOINT {args} is not the exec form [\"ironmage\"] (the shell form would not pass SIGTERM on)"
            )),
        },
        None => problems.push("Dockerfile: the runtime stage has no ENTRYPOINT".into()),
    }
    if !has("COPY")
        .any(|(_, a)| a.contains("--from=") && a.trim_end().ends_with("/usr/local/bin/ironmage"))
    {
        problems.push(
            "Dockerfile: the runtime stage does not copy the binary to /usr/local/bin/ironmage"
                .into(),
        );
    }
    match has("USER").next_back() {
        Some((_, user)) if !user.starts_with("root") && !user.starts_with("0") => {}
        other => problems.push(format!(
            "Dockerfile: the runtime stage runs as {other:?}; use a non-root user"
        )),
    }
    let exposed: BTreeSet<u16> = has("EXPOSE")
        .flat_map(|(_, a)| {
            a.split_whitespace()
                .filter_map(|p| p.split('/').next()?.parse().ok())
                .collect::<Vec<u16>>()
        })
        .collect();
    for role in Role::ALL {
        let port = default_port(role);
        if !exposed.contains(&port) {
            problems.push(format!("Dockerfile: EXPOSE lacks {port} ({role:?})"));
        }
    }
    // Compose's health checks run curl inside the container.
    if read("docker-compose.yml").contains("\"curl\"")
        && !has("RUN").any(|(_, a)| a.contains("apt-get install") && a.contains("curl"))
    {
        problems.push(
            "Dockerfile: the health checks use curl, which the runtime stage does not install"
                .into(),
        );
    }
    // Python blocks and pyfunc models run on the image's venv: Python installed, the venv made
    // from pinned requirements that hold what the hand-over and serving import, and
    // IRONMAGE_PYTHON pointing at it.
    if !has("RUN").any(|(_, a)| a.contains("apt-get install") && a.contains("python3-venv")) {
        problems.push("Dockerfile: the runtime stage does not install python3-venv".into());
    }
    let venv_python = "/opt/ironmage/python/bin/python";
    if !has("ENV").any(|(_, a)| a.contains(&format!("IRONMAGE_PYTHON={venv_python}"))) {
        problems.push(format!(
            "Dockerfile: ENV IRONMAGE_PYTHON is not the image's venv ({venv_python})"
        ));
    }
    let requirements = read("deploy/python/requirements.txt");
    for package in ["pandas", "pyarrow", "mlflow"] {
        let pinned = requirements
            .lines()
            .any(|l| l.trim().starts_with(&format!("{package}==")));
        if !pinned {
            problems.push(format!(
                "deploy/python/requirements.txt: {package} is not pinned with =="
            ));
        }
    }
    if !has("RUN").any(|(_, a)| {
        a.contains("python3 -m venv /opt/ironmage/python")
            && a.contains("-r /opt/ironmage/requirements.txt")
    }) {
        problems
            .push("Dockerfile: the venv is not built from deploy/python/requirements.txt".into());
    }

    // Defaults baked into the image are variables the binary reads.
    let known = known_env();
    for (_, args) in has("ENV") {
        for word in args.split_whitespace() {
            if let Some((name, _)) = word.split_once('=') {
                if is_ours(name) && !known.contains(name) {
                    problems.push(format!(
                        "Dockerfile: ENV {name}, which the binary does not read"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn dockerfile_builds_and_runs_the_binary() {
    assert_no_problems(
        "Dockerfile",
        &check_dockerfile(&read("Dockerfile"), &read(".dockerignore")),
    );
}

// ---- the checks can fail ---------------------------------------------------------------------

#[test]
fn the_binary_defaults_are_the_documented_ports() {
    for role in Role::ALL {
        assert_eq!(default_port(role), role.documented_port(), "{role:?}");
    }
    let known = known_env();
    for name in [
        "DATABASE_URL",
        "REDIS_URL",
        "IRONMAGE_PROJECT_DIR",
        "IRONMAGE_ARTIFACT_DIR",
        "IRONMAGE_DATA_DIR",
        "IRONMAGE_SCHEDULER_HEALTH_ADDR",
        "IRONMAGE_EXECUTOR_HEALTH_ADDR",
        "IRONMAGE_EXECUTOR_CONCURRENCY",
    ] {
        assert!(known.contains(name), "{name} not in {known:?}");
    }
}

/// Break each file in a known way and see the checks complain: a check that cannot fail
/// proves nothing.
#[test]
fn broken_files_are_caught() {
    fn compose_with(edit: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut doc = compose();
        edit(&mut doc);
        check_compose(&doc)
    }
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "unknown subcommand",
            compose_with(|d| {
                d["services"]["web"]["command"] = serde_yaml::from_str("[webserver]").unwrap()
            }),
            "does not start with an ironmage subcommand",
        ),
        (
            "wrong role",
            compose_with(|d| {
                d["services"]["scheduler"]["command"] = serde_yaml::from_str("[executor]").unwrap()
            }),
            "expected the Scheduler role",
        ),
        (
            "unknown flag",
            compose_with(|d| {
                d["services"]["executor"]["command"] =
                    serde_yaml::from_str("[executor, --workers, '20']").unwrap()
            }),
            "--workers",
        ),
        (
            "bad value",
            compose_with(|d| {
                d["services"]["scheduler"]["environment"]["IRONMAGE_RUN_LEASE_SECS"] =
                    "thirty".into()
            }),
            "thirty",
        ),
        (
            "misspelt variable",
            compose_with(|d| {
                d["services"]["web"]["environment"]["IRONMAGE_WEB_ADDRESS"] = "0.0.0.0:6789".into()
            }),
            "sets IRONMAGE_WEB_ADDRESS, which the binary does not read",
        ),
        (
            "no redis",
            compose_with(|d| {
                d["services"]["executor"]["environment"]
                    .as_mapping_mut()
                    .unwrap()
                    .remove("REDIS_URL");
            }),
            "REDIS_URL must be a redis:// URL",
        ),
        (
            "wrong port",
            compose_with(|d| {
                d["services"]["prediction"]["ports"] =
                    serde_yaml::from_str("['5000:5001']").unwrap()
            }),
            "exposes port 5001",
        ),
        (
            "wrong health path",
            compose_with(|d| {
                d["services"]["web"]["healthcheck"]["test"] =
                    serde_yaml::from_str("[CMD, curl, -f, 'http://127.0.0.1:6789/health']").unwrap()
            }),
            "health check on /health",
        ),
        (
            "address moved, health check not",
            compose_with(|d| {
                d["services"]["scheduler"]["environment"]["IRONMAGE_SCHEDULER_HEALTH_ADDR"] =
                    "0.0.0.0:7000".into()
            }),
            "listens on 0.0.0.0:7000",
        ),
        (
            "missing dependency",
            compose_with(|d| {
                d["services"]["web"]["depends_on"]["postgresql"] =
                    serde_yaml::from_str("{condition: service_healthy}").unwrap()
            }),
            "depends on postgresql, which is no service",
        ),
        (
            "read-only artifacts for the executor",
            compose_with(|d| {
                d["services"]["executor"]["volumes"] = serde_yaml::from_str(
                    "[project:/app/project, artifacts:/var/lib/ironmage/artifacts:ro]",
                )
                .unwrap()
            }),
            "the artifact folder is read-only",
        ),
        (
            "prediction without artifacts",
            compose_with(|d| {
                d["services"]["prediction"]["volumes"] = serde_yaml::from_str("[]").unwrap()
            }),
            "no volume on the artifact folder",
        ),
        (
            "role missing",
            compose_with(|d| {
                d["services"].as_mapping_mut().unwrap().remove("scheduler");
            }),
            "no service runs the Scheduler role",
        ),
    ];
    for (case, problems, needle) in cases {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "compose, {case}: expected a problem containing {needle:?}, got {problems:#?}"
        );
    }

    let k8s_with = |edit: &dyn Fn(&mut Documents)| {
        let mut docs = kubernetes_docs();
        edit(&mut docs);
        check_kubernetes(&docs)
    };
    fn find(docs: &[(String, Value)], kind: &str, name: &str) -> usize {
        docs.iter()
            .position(|(_, d)| kind_name(d) == (kind.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }
    fn container(doc: &mut Value) -> &mut Value {
        &mut doc["spec"]["template"]["spec"]["containers"][0]
    }
    let k8s_cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "probe on the wrong path",
            k8s_with(&|docs| {
                let i = find(docs, "Deployment", "ironmage-executor");
                container(&mut docs[i].1)["livenessProbe"]["httpGet"]["path"] = "/healthz".into();
            }),
            "health check on /healthz",
        ),
        (
            "prediction ready on /health",
            k8s_with(&|docs| {
                let i = find(docs, "Deployment", "ironmage-prediction");
                container(&mut docs[i].1)["readinessProbe"]["httpGet"]["path"] = "/health".into();
            }),
            "the readiness probe must be /ready",
        ),
        (
            "unknown ConfigMap key",
            k8s_with(&|docs| {
                let i = find(docs, "ConfigMap", "ironmage-config");
                docs[i].1["data"]["IRONMAGE_CONCURRENCY"] = "4".into();
            }),
            "sets IRONMAGE_CONCURRENCY",
        ),
        (
            "missing Secret",
            k8s_with(&|docs| {
                let i = find(docs, "Secret", "ironmage-secrets");
                docs.remove(i);
            }),
            "envFrom Secret ironmage-secrets, which is not defined",
        ),
        (
            "Service on the wrong port",
            k8s_with(&|docs| {
                let i = find(docs, "Service", "ironmage-web");
                docs[i].1["spec"]["ports"][0]["targetPort"] = 8080.into();
            }),
            "targets port Some(8080)",
        ),
        (
            "HPA on a missing Deployment",
            k8s_with(&|docs| {
                let i = find(docs, "HorizontalPodAutoscaler", "ironmage-executor");
                docs[i].1["spec"]["scaleTargetRef"]["name"] = "ironmage-executors".into();
            }),
            "no HorizontalPodAutoscaler for ironmage-executor",
        ),
        (
            "project not ReadWriteMany",
            k8s_with(&|docs| {
                let i = find(docs, "PersistentVolumeClaim", "ironmage-project");
                docs[i].1["spec"]["accessModes"] = serde_yaml::from_str("[ReadWriteOnce]").unwrap();
            }),
            "must be ReadWriteMany",
        ),
        (
            "wrong subcommand",
            k8s_with(&|docs| {
                let i = find(docs, "Deployment", "ironmage-prediction");
                container(&mut docs[i].1)["args"] = serde_yaml::from_str("[serve]").unwrap();
            }),
            "does not start with an ironmage subcommand",
        ),
    ];
    for (case, problems, needle) in k8s_cases {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "kubernetes, {case}: expected a problem containing {needle:?}, got {problems:#?}"
        );
    }

    let dockerfile = read("Dockerfile");
    let dockerignore = read(".dockerignore");
    let docker_cases = [
        (
            dockerfile.replace("--bin ironmage", "--workspace"),
            dockerignore.clone(),
            "without --bin ironmage",
        ),
        (
            dockerfile.replace("ENTRYPOINT [\"ironmage\"]", "ENTRYPOINT ironmage"),
            dockerignore.clone(),
            "is not the exec form",
        ),
        (
            dockerfile.replace("COPY migrations ./migrations\n", ""),
            dockerignore.clone(),
            "needs migrations",
        ),
        (
            dockerfile.clone(),
            format!("{dockerignore}\nproject\n"),
            "COPY project, which .dockerignore excludes",
        ),
    ];
    for (file, ignore, needle) in docker_cases {
        let problems = check_dockerfile(&file, &ignore);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "Dockerfile: expected a problem containing {needle:?}, got {problems:#?}"
        );
    }
}
