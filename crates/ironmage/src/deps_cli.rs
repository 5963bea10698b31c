//! `ironmage deps`: the project's Python environment, from its `requirements.txt`. Creates the
//! project's virtualenv (`.venv`, with `uv` when it is on the PATH, else `python -m venv`),
//! installs the requirements into it, and writes the exact resolved versions to
//! `requirements.lock`. Python blocks then run with that virtualenv's interpreter unless
//! `IRONMAGE_PYTHON` names another, and every run records the packages it ran with.

use anyhow::{bail, Context};
use clap::Args;
use ironmage_core::environment::{venv_python, PROJECT_VENV};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::process::Command;

/// The lock file, beside `requirements.txt`.
pub const LOCK_FILE: &str = "requirements.lock";

/// Lists `name==version` of every distribution the interpreter can import, sorted by name.
const FREEZE: &str = r#"
import importlib.metadata as m
seen = {}
for d in m.distributions():
    name = d.metadata["Name"] if d.metadata else None
    if name:
        seen.setdefault(name, d.version)
print("\n".join(f"{n}=={v}" for n, v in sorted(seen.items(), key=lambda p: p[0].lower())))
"#;

/// Install the project's requirements into its virtualenv.
pub async fn deps(project_dir: &Path, args: DepsArgs) -> anyhow::Result<ExitCode> {
    let requirements = args
        .requirements
        .clone()
        .unwrap_or_else(|| project_dir.join("requirements.txt"));
    if !requirements.is_file() {
        bail!(
            "no requirements file at {}: write one (a package per line, as pip takes them) or \
             name another with --requirements",
            requirements.display()
        );
    }
    let venv = project_dir.join(PROJECT_VENV);
    let python = venv_python(&venv);
    let uv = which("uv");
    if python.is_file() {
        println!("using the virtualenv {}", venv.display());
    } else {
        println!(
            "creating the virtualenv {} with {}…",
            venv.display(),
            args.python.display()
        );
        let mut create = match &uv {
            Some(uv) => {
                let mut c = Command::new(uv);
                c.arg("venv").arg("--python").arg(&args.python);
                c
            }
            None => {
                let mut c = Command::new(&args.python);
                c.args(["-m", "venv"]);
                c
            }
        };
        if args.system_site_packages {
            create.arg("--system-site-packages");
        }
        run(create.arg(&venv), "create the virtualenv").await?;
    }
    println!("installing {}…", requirements.display());
    let mut install = match &uv {
        Some(uv) => {
            let mut c = Command::new(uv);
            c.args(["pip", "install", "--python"]).arg(&python);
            c
        }
        None => {
            let mut c = Command::new(&python);
            c.args(["-m", "pip", "install", "--disable-pip-version-check"]);
            c
        }
    };
    run(
        install
            .arg("-r")
            .arg(&requirements)
            .current_dir(project_dir),
        "install the requirements",
    )
    .await?;
    let frozen = Command::new(&python)
        .args(["-c", FREEZE])
        .output()
        .await
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !frozen.status.success() {
        bail!(
            "{} could not list its packages: {}",
            python.display(),
            String::from_utf8_lossy(&frozen.stderr).trim()
        );
    }
    let lock = String::from_utf8_lossy(&frozen.stdout).into_owned();
    let lock_path = project_dir.join(LOCK_FILE);
    std::fs::write(&lock_path, &lock)
        .with_context(|| format!("cannot write {}", lock_path.display()))?;
    let packages: Vec<&str> = lock.lines().filter(|l| !l.is_empty()).collect();
    println!(
        "{} packages installed; exact versions in {}",
        packages.len(),
        lock_path.display()
    );
    // Python blocks exchange tables as Arrow through pandas: say so now, not at the first run.
    let has = |name: &str| {
        packages
            .iter()
            .any(|p| p.to_lowercase().starts_with(&format!("{name}==")))
    };
    let missing: Vec<&str> = ["pandas", "pyarrow"]
        .into_iter()
        .filter(|p| !has(p))
        .collect();
    if !missing.is_empty() {
        println!(
            "note: Python blocks need {} in the virtualenv: add {} to {}",
            missing.join(" and "),
            if missing.len() == 1 { "it" } else { "them" },
            requirements.display()
        );
    }
    println!(
        "Python blocks of this project now run with {}",
        python.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Run a command with its output on this terminal (pip's progress); fail with `what`.
async fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .await
        .with_context(|| format!("cannot {what}: cannot start {:?}", command.as_std()))?;
    if !status.success() {
        bail!("cannot {what}: {:?} exited with {status}", command.as_std());
    }
    Ok(())
}

/// A program on the PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `ironmage deps`.
#[derive(Debug, Clone, Args)]
pub struct DepsArgs {
    /// Python that creates the virtualenv (its version becomes the project's).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The requirements file; `requirements.txt` in the project folder by default.
    #[arg(long)]
    pub requirements: Option<PathBuf>,
    /// Let the virtualenv see the creating Python's packages (an image with pandas and
    /// pyarrow preinstalled, say).
    #[arg(long)]
    pub system_site_packages: bool,
}
