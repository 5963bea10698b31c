//! Starting and stopping roles: HTTP servers on their addresses, background loops with a
//! shared shutdown signal. `ironmage up` starts them all on one [`Platform`].

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use ironmage_core::Platform;
use ironmage_executor::ExecutorConfig;
use ironmage_prediction::{PredictionConfig, PredictionService, ServingSources};
use ironmage_scheduler::SchedulerConfig;
use std::net::{SocketAddr, TcpListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which roles to start and how; the default starts none.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Web role address; `None` to not start it.
    pub web_addr: Option<String>,
    /// Prediction role address and settings; `None` to not start it.
    pub predict: Option<(String, PredictionConfig)>,
    /// Executor settings; `None` to not start it.
    pub executor: Option<ExecutorConfig>,
    /// Scheduler settings; `None` to not start it.
    pub scheduler: Option<SchedulerConfig>,
    /// Address of a `/health` endpoint for roles without an HTTP API of their own (scheduler,
    /// executor), with the role's name; `None` for no endpoint.
    pub health: Option<(String, &'static str)>,
}

/// Running roles.
pub struct Stack {
    /// The shared platform.
    pub platform: Platform,
    /// Bound address of the web role.
    pub web_addr: Option<SocketAddr>,
    /// Bound address of the prediction role.
    pub predict_addr: Option<SocketAddr>,
    /// Bound address of the health endpoint.
    pub health_addr: Option<SocketAddr>,
    servers: Vec<ServerHandle>,
    loops: Vec<JoinHandle<()>>,
    prediction: Option<PredictionService>,
    shutdown: watch::Sender<bool>,
}

fn bind(addr: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

impl Stack {
    /// Start the chosen roles on `platform`.
    pub async fn start(mut platform: Platform, options: StackOptions) -> anyhow::Result<Stack> {
        if options.executor.is_none()
            && matches!(platform.queue, ironmage_core::queue::Queue::Local(_))
        {
            // Nothing in this process would read an in-process queue.
            platform = platform.with_queue(ironmage_core::queue::Queue::StoreOnly);
        }
        let (shutdown, signal) = watch::channel(false);
        let mut stack = Stack {
            platform: platform.clone(),
            web_addr: None,
            predict_addr: None,
            health_addr: None,
            servers: vec![],
            loops: vec![],
            prediction: None,
            shutdown,
        };
        if let Some(config) = options.scheduler {
            stack.loops.push(tokio::spawn(ironmage_scheduler::run(
                platform.clone(),
                config,
                signal.clone(),
            )));
        }
        if let Some(config) = options.executor {
            stack.loops.push(tokio::spawn(ironmage_executor::run(
                platform.clone(),
                config,
                signal.clone(),
            )));
        }
        if let Some(addr) = options.web_addr {
            let p = platform.clone();
            let local =
                stack.serve(&addr, 2, move |cfg| ironmage_web::configure(p.clone())(cfg))?;
            stack.web_addr = Some(local);
            tracing::info!(addr = %local, "web role listening (dashboard and /api)");
        }
        if let Some((addr, config)) = options.predict {
            let service = PredictionService::start(ServingSources::of(&platform), config).await;
            let state = service.state.clone();
            let local = stack.serve(&addr, 2, move |cfg| {
                ironmage_prediction::configure(state.clone())(cfg)
            })?;
            stack.prediction = Some(service);
            stack.predict_addr = Some(local);
            tracing::info!(addr = %local, "prediction role listening");
        }
        if let Some((addr, role)) = options.health {
            let p = platform.clone();
            let local = stack.serve(&addr, 1, move |cfg| {
                cfg.app_data(web::Data::new((p.clone(), role)))
                    .route("/health", web::get().to(role_health));
            })?;
            stack.health_addr = Some(local);
            tracing::info!(addr = %local, role, "health endpoint listening");
        }
        Ok(stack)
    }

    /// Serve `routes` over HTTP on `addr` with `workers` threads until [`Stack::stop`].
    fn serve(
        &mut self,
        addr: &str,
        workers: usize,
        routes: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    ) -> anyhow::Result<SocketAddr> {
        let (listener, local) = bind(addr)?;
        let server = HttpServer::new(move || App::new().configure(routes.clone()))
            .workers(workers)
            .disable_signals()
            .listen(listener)?
            .run();
        self.servers.push(server.handle());
        tokio::spawn(server);
        Ok(local)
    }

    /// Stop gracefully: servers finish their requests, executors finish their runs, the
    /// prediction log is flushed, the database is closed.
    pub async fn stop(self) {
        for server in &self.servers {
            server.stop(true).await;
        }
        let _ = self.shutdown.send(true);
        for task in self.loops {
            let _ = task.await;
        }
        if let Some(prediction) = self.prediction {
            prediction.shutdown().await;
        }
        self.platform.close().await;
        tracing::info!("stopped");
    }
}

/// `GET /health` of a role without an API: 200 when its store and its queue answer, 503
/// otherwise, naming what failed.
async fn role_health(data: web::Data<(Platform, &'static str)>) -> actix_web::HttpResponse {
    let (platform, role) = data.get_ref();
    let store = platform.ping().await.err().map(|e| e.to_string());
    let queue = platform.queue.ping().await.err().map(|e| e.to_string());
    let body = serde_json::json!({
        "status": if store.is_none() && queue.is_none() { "healthy" } else { "unhealthy" },
        "role": role,
        "store": store.as_deref().unwrap_or("ok"),
        "queue": queue.as_deref().unwrap_or("ok"),
    });
    if store.is_none() && queue.is_none() {
        actix_web::HttpResponse::Ok().json(body)
    } else {
        actix_web::HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Wait for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested");
}
