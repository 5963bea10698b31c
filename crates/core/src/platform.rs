//! The platform: the services every role holds (runs, registry, tracking, triggers), built
//! once over one store, artifact store, queue, event bus and project. The edges (HTTP, CLI,
//! the role loops) call these services; none of them reaches the store itself.

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::pipeline::{BlockServices, Engine, Project};
use crate::queue::{Queue, RedisQueue};
use crate::registry::{Registry, RegistryReader};
use crate::runs::Runs;
use crate::secrets::Secrets;
use crate::store::{LeaseStore, PredictionStore, Store};
use crate::tracking::Tracking;
use crate::triggers::Triggers;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the platform keeps things.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Data folder of the embedded default (SQLite file, artifacts).
    pub data_dir: PathBuf,
    /// Metadata database; `sqlite://<data_dir>/ironmage.db` when absent.
    pub database_url: Option<String>,
    /// Artifact folder; `<data_dir>/artifacts` when absent.
    pub artifact_dir: Option<PathBuf>,
    /// Project folder holding `pipelines/`.
    pub project_dir: PathBuf,
    /// Redis for the shared job queue and event bus; in-process ones when absent.
    pub redis_url: Option<String>,
}

impl PlatformConfig {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("ironmage.db").display()
            )
        })
    }

    /// The artifact folder in effect.
    pub fn artifact_dir(&self) -> PathBuf {
        self.artifact_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("artifacts"))
    }
}

/// The services of one process, over its shared parts. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Platform {
    /// Pipelines and their runs.
    pub runs: Runs,
    /// Registered models and versions, and every change to them.
    pub registry: Registry,
    /// Experiments and tracking runs (MLflow's side).
    pub tracking: Tracking,
    /// Cron, interval, API and file triggers.
    pub triggers: Triggers,
    /// Content-addressed files (models, dataset snapshots).
    pub artifacts: ArtifactStore,
    /// Job queue (executors take runs from it).
    pub queue: Queue,
    /// Event bus (stage changes, cancels, finished runs).
    pub events: EventBus,
    store: Store,
    project: Project,
    secrets: Secrets,
}

/// How long a queue message may stay unacknowledged before another executor takes it over.
/// Taking it over is harmless: the run itself is claimed in the store, once.
pub const RECLAIM_AFTER: Duration = Duration::from_secs(30);

impl Platform {
    /// Open the stores (running migrations), and the queue and bus: Redis when configured,
    /// in-process otherwise.
    pub async fn open(config: &PlatformConfig) -> Result<Platform> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            Error::internal(format!(
                "cannot create data dir {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let store = Store::connect(&config.database_url()).await?;
        let artifacts = ArtifactStore::open(config.artifact_dir())?;
        let queue = match &config.redis_url {
            Some(url) => Queue::Redis(RedisQueue::connect(url, RECLAIM_AFTER).await?),
            None => Queue::local(),
        };
        let events = match &config.redis_url {
            Some(url) => EventBus::redis(url).await?,
            None => EventBus::local(),
        };
        let project = Project::new(&config.project_dir);
        let secrets = Secrets::from_env()?;
        Ok(Platform::assemble(
            store, artifacts, queue, events, project, secrets,
        ))
    }

    /// Build the services over these parts.
    pub fn assemble(
        store: Store,
        artifacts: ArtifactStore,
        queue: Queue,
        events: EventBus,
        project: Project,
        secrets: Secrets,
    ) -> Platform {
        let tracking = Tracking::new(&store);
        let registry = Registry::new(&store, events.clone());
        let blocks = BlockServices {
            datasets: store.datasets(),
            artifacts: artifacts.clone(),
            registry: registry.clone(),
            tracking: tracking.clone(),
            sql: store.read_only(),
            project_root: project.root().to_path_buf(),
            secrets: secrets.clone(),
            python: crate::environment::project_interpreter(project.root()),
        };
        let engine = Engine {
            runs: store.runs(),
            blocks: Arc::new(blocks),
        };
        let runs = Runs::new(
            store.runs(),
            tracking.clone(),
            queue.clone(),
            events.clone(),
            project.clone(),
            engine,
        );
        let triggers = Triggers::new(store.triggers(), runs.clone(), project.clone());
        Platform {
            runs,
            registry,
            tracking,
            triggers,
            artifacts,
            queue,
            events,
            store,
            project,
            secrets,
        }
    }

    /// The same platform with another queue (a process whose roles never read the
    /// in-process queue leaves runs in the store for executors elsewhere).
    pub fn with_queue(&self, queue: Queue) -> Platform {
        Platform::assemble(
            self.store.clone(),
            self.artifacts.clone(),
            queue,
            self.events.clone(),
            self.project.clone(),
            self.secrets.clone(),
        )
    }

    /// What the prediction role reads of the registry: it cannot write it.
    pub fn registry_reader(&self) -> RegistryReader {
        self.registry.read().clone()
    }

    /// Where the prediction role appends its prediction log.
    pub fn prediction_log(&self) -> PredictionStore {
        self.store.predictions()
    }

    /// The named leases (the scheduler's leadership).
    pub fn leases(&self) -> LeaseStore {
        self.store.leases()
    }

    /// The project folder.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Whether the metadata store answers (health checks).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Close the metadata store's connections (graceful shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }
}
