//! The arguments of `ironmage models …` (what each command does is in registry_cli.rs).

use clap::{Args, Subcommand};

/// `ironmage models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// The acting user: `--user`, else `$USER`.
#[derive(Debug, Clone, Args)]
pub struct UserArg {
    /// Who acts (recorded in the audit log).
    #[arg(long, env = "USER", default_value = "cli")]
    pub user: String,
}

/// Registry commands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List registered models with their Production and Staging versions.
    List,
    /// Show a model: versions, policy, pending requests and audit log.
    Show {
        /// Model name.
        name: String,
    },
    /// List a model's versions, newest first.
    Versions {
        /// Model name.
        name: String,
    },
    /// Promote a version to staging, or to production (through an approval request when the
    /// model's policy requires approvals; the request id is printed).
    Promote {
        /// Model name.
        name: String,
        /// Version number.
        #[arg(long)]
        version: i64,
        /// Target stage: staging or production.
        #[arg(long)]
        to: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        user: UserArg,
    },
    /// Approve a pending request; the last required approval promotes the version.
    Approve {
        /// Model name.
        name: String,
        /// Request id.
        #[arg(long)]
        request: i64,
        /// Optional comment.
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        user: UserArg,
    },
    /// Reject a pending request.
    Reject {
        /// Model name.
        name: String,
        /// Request id.
        #[arg(long)]
        request: i64,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        user: UserArg,
    },
    /// List a model's approval requests.
    Requests {
        /// Model name.
        name: String,
        /// Only pending, approved or rejected ones.
        #[arg(long)]
        status: Option<String>,
    },
    /// Bring a previous version back to Production (archives the current one).
    Rollback {
        /// Model name.
        name: String,
        /// Version to restore.
        #[arg(long)]
        version: i64,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        user: UserArg,
    },
    /// Compare two versions: metrics and parameters side by side.
    Compare {
        /// Model name.
        name: String,
        /// First version.
        a: i64,
        /// Second version.
        b: i64,
    },
    /// Show, or change, a model's policy (gates, approvals, keep-latest-N).
    Policy {
        /// Model name.
        name: String,
        /// A validation gate such as 'auc_score>=0.85' (repeat for several; replaces the gates).
        #[arg(long = "gate")]
        gates: Vec<String>,
        /// Remove every gate.
        #[arg(long, conflicts_with = "gates")]
        no_gates: bool,
        /// Approvals required for Production (0: promote directly).
        #[arg(long)]
        approvals: Option<i64>,
        /// Keep only the newest N versions out of Archived.
        #[arg(long)]
        keep_latest: Option<i64>,
        #[command(flatten)]
        user: UserArg,
    },
    /// Archive versions older than the newest N (the policy's N by default).
    KeepLatest {
        /// Model name.
        name: String,
        /// How many to keep.
        #[arg(long)]
        n: Option<i64>,
        #[command(flatten)]
        user: UserArg,
    },
    /// Delete a version that is not in Production.
    Delete {
        /// Model name.
        name: String,
        /// Version number.
        #[arg(long)]
        version: i64,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        user: UserArg,
    },
}
