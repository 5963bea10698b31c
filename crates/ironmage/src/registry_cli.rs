//! `ironmage models …`: the registry from the terminal (`predict-batch` is in batch_cli.rs). Like
//! `ironmage run`, these talk to the metadata store and artifact folder directly (same flags
//! and environment variables), through the same core calls as the REST API.

use anyhow::bail;
use ironmage_core::registry::StageSource;
use ironmage_core::store::{Gate, ModelVersion, PolicySettings, Promotion, Stage, StageChange};
use ironmage_core::Platform;
use std::process::ExitCode;

use crate::registry_args::{ModelsArgs, ModelsCommand};

fn version_line(v: &ModelVersion) -> String {
    let auc = v.metrics.get("auc_score").and_then(|m| m.as_f64());
    let gate = match (&v.gate_status, &v.gate_reason) {
        (Some(s), Some(r)) => format!("  gate {s}: {r}"),
        _ => String::new(),
    };
    format!(
        "  v{:<4} {:<10} {}  auc={}{gate}",
        v.version,
        v.stage.as_str(),
        v.label,
        auc.map_or("-".into(), |a| format!("{a:.4}"))
    )
}

/// Run a `models` command.
pub async fn models(platform: Platform, args: ModelsArgs) -> anyhow::Result<ExitCode> {
    use ModelsCommand as C;
    let p = &platform;
    match args.command {
        C::List => {
            let models = p.registry.read().list_models().await?;
            if models.is_empty() {
                println!("no registered models");
            }
            for m in models {
                let at = |s: Stage| {
                    m.versions
                        .iter()
                        .find(|v| v.stage == s)
                        .map_or("-".into(), |v| format!("v{}", v.version))
                };
                println!(
                    "{:<24} versions={:<4} production={:<6} staging={}",
                    m.name,
                    m.versions.len(),
                    at(Stage::Production),
                    at(Stage::Staging)
                );
            }
        }
        C::Show { name } => {
            let policy = p.registry.read().policy(&name).await?;
            println!("model {name}");
            let gates: Vec<String> = policy
                .settings
                .gates
                .iter()
                .map(|g| format!("{}{}{}", g.metric, g.op.as_str(), g.threshold))
                .collect();
            println!(
                "policy: gates=[{}] approvals={} keep_latest={}",
                gates.join(", "),
                policy.settings.required_approvals,
                policy
                    .settings
                    .keep_latest_n
                    .map_or("-".into(), |n| n.to_string())
            );
            println!("versions:");
            for v in p.registry.read().versions(&name).await? {
                println!("{}", version_line(&v));
            }
            println!("pending requests:");
            for r in p
                .registry
                .read()
                .approval_requests(&name, Some("pending"))
                .await?
            {
                println!(
                    "  #{} v{} by {} ({}/{} approvals): {}",
                    r.id,
                    r.version,
                    r.requested_by,
                    r.approvals.len(),
                    r.required_approvals,
                    r.reason
                );
            }
            println!("audit log:");
            for t in p.registry.read().transitions(&name).await? {
                let approvers = if t.approvers.is_empty() {
                    String::new()
                } else {
                    format!(" approvers={}", t.approvers.join(","))
                };
                println!(
                    "  {} v{} {} -> {} by {}: {}{approvers}",
                    t.created_at, t.version, t.from_stage, t.to_stage, t.actor, t.reason
                );
            }
        }
        C::Versions { name } => {
            let versions = p.registry.read().versions(&name).await?;
            if versions.is_empty() {
                bail!("model {name:?} not found");
            }
            for v in versions {
                println!("{}", version_line(&v));
            }
        }
        C::Promote {
            name,
            version,
            to,
            reason,
            user,
        } => {
            let to = match to.to_ascii_lowercase().as_str() {
                "staging" => Stage::Staging,
                "production" => Stage::Production,
                _ => bail!("--to: unknown stage {to:?}: expected staging or production"),
            };
            let change = StageChange {
                model: &name,
                version,
                to,
                actor: &user.user,
                reason: &reason,
            };
            match p.registry.change_stage(change, StageSource::Promote).await? {
                Promotion::Moved { version } => println!("{name} v{} is now in {}", version.version, version.stage.as_str()),
                Promotion::Requested { request } => println!(
                    "approval request {} opened for {name} v{} ({} approvals required)\nrequest id: {}",
                    request.id, request.version, request.required_approvals, request.id
                ),
            }
        }
        C::Approve {
            name,
            request,
            comment,
            user,
        } => {
            let outcome = p
                .registry
                .approve(&name, request, &user.user, &comment)
                .await?;
            let r = &outcome.request;
            println!(
                "{} approved request {} ({}/{} approvals)",
                user.user,
                r.id,
                r.approvals.len(),
                r.required_approvals
            );
            if let Some(v) = outcome.promoted {
                println!("{name} v{} is now in Production", v.version);
            }
        }
        C::Reject {
            name,
            request,
            reason,
            user,
        } => {
            let r = p
                .registry
                .reject(&name, request, &user.user, &reason)
                .await?;
            println!("request {} rejected by {}: {reason}", r.id, user.user);
        }
        C::Requests { name, status } => {
            p.registry.read().policy(&name).await?;
            for r in p
                .registry
                .read()
                .approval_requests(&name, status.as_deref())
                .await?
            {
                let approvers: Vec<&str> =
                    r.approvals.iter().map(|a| a.approver.as_str()).collect();
                println!(
                    "#{} v{} {} by {} approvals={}/{} [{}] {}",
                    r.id,
                    r.version,
                    r.status,
                    r.requested_by,
                    r.approvals.len(),
                    r.required_approvals,
                    approvers.join(","),
                    r.reason
                );
            }
        }
        C::Rollback {
            name,
            version,
            reason,
            user,
        } => {
            let v = p
                .registry
                .rollback(&name, version, &user.user, &reason)
                .await?;
            println!("{name} v{} is back in Production", v.version);
        }
        C::Compare { name, a, b } => {
            let c = p.registry.compare(&name, a, b).await?;
            println!(
                "{:<22} {:>12} {:>12} {:>12}  better",
                "metric",
                format!("v{a}"),
                format!("v{b}"),
                "delta"
            );
            let num = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.4}"));
            for m in &c.metrics {
                println!(
                    "{:<22} {:>12} {:>12} {:>12}  {}",
                    m.name,
                    num(m.a),
                    num(m.b),
                    m.delta.map_or("-".into(), |d| format!("{d:+.4}")),
                    m.better.map_or("", |w| if w == "a" {
                        "A"
                    } else if w == "b" {
                        "B"
                    } else {
                        "="
                    })
                );
            }
            println!(
                "{:<22} {:>12} {:>12}",
                "param",
                format!("v{a}"),
                format!("v{b}")
            );
            for d in &c.params {
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref().map_or("-".into(), |v| v.to_string())
                };
                println!(
                    "{:<22} {:>12} {:>12}{}",
                    d.name,
                    show(&d.a),
                    show(&d.b),
                    if d.differs { "  *" } else { "" }
                );
            }
        }
        C::Policy {
            name,
            gates,
            no_gates,
            approvals,
            keep_latest,
            user,
        } => {
            let current = match p.registry.read().policy(&name).await {
                Ok(policy) if policy.is_set() => policy.settings,
                // A first policy starts from the defaults of a new policy, not from "none".
                Ok(_) => PolicySettings::default(),
                Err(e) if e.code == ironmage_core::ErrorCode::NotFound => PolicySettings::default(),
                Err(e) => return Err(e.into()),
            };
            let changed =
                !gates.is_empty() || no_gates || approvals.is_some() || keep_latest.is_some();
            let settings = if changed {
                let mut s = current;
                if no_gates {
                    s.gates.clear();
                } else if !gates.is_empty() {
                    s.gates = gates
                        .iter()
                        .map(|g| Gate::parse(g))
                        .collect::<Result<_, _>>()?;
                }
                s.required_approvals = approvals.unwrap_or(s.required_approvals);
                s.keep_latest_n = keep_latest.or(s.keep_latest_n);
                p.registry.set_policy(&name, &s, &user.user).await?.settings
            } else {
                current
            };
            println!("{}", serde_json::to_string_pretty(&settings)?);
        }
        C::KeepLatest { name, n, user } => {
            let archived = p.registry.keep_latest(&name, n, &user.user).await?;
            println!("archived {} version(s): {archived:?}", archived.len());
        }
        C::Delete {
            name,
            version,
            reason,
            user,
        } => {
            p.registry
                .delete_version(&name, version, &user.user, &reason)
                .await?;
            println!("{name} v{version} deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}
