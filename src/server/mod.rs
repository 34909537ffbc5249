//! The embedded reference SCIM server (`scimtest serve`): axum on tokio, SQLite storage.
//!
//! It is the default target of `run` and `load`, the fixture of our own tests, and — with fault
//! switches — the proof that every conformance check can fail.

pub mod bulk;
pub mod contract;
pub mod discovery;
pub mod faults;
pub mod http;
pub mod limits;
mod query_faults;
mod resource_faults;
pub mod resources;
pub mod routes;
pub mod store;
mod vendor_faults;

use crate::scim::schema::{Registry, ResourceType};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use contract::Contract;
use faults::Faults;
use routes::Kind;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{Store, SyncMode};
use tokio::net::TcpListener;

/// Everything `scimtest serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// None: a private in-memory database.
    pub db: Option<PathBuf>,
    pub sync: SyncMode,
    pub token: String,
    pub base_path: String,
    pub contract: Contract,
    pub domain: String,
    pub faults: Faults,
    pub latency: Duration,
    pub error_rate: f64,
    pub max_body: usize,
    pub max_results: usize,
    pub bulk_max_operations: usize,
}

impl ServerConfig {
    /// A loopback server on a free port with an in-memory database: what tests and the
    /// `run`/`load` defaults start.
    pub fn ephemeral(token: impl Into<String>) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: None,
            sync: SyncMode::Normal,
            token: token.into(),
            base_path: Contract::Rfc.default_base_path().into(),
            contract: Contract::Rfc,
            domain: "example.com".into(),
            faults: Faults::default(),
            latency: Duration::ZERO,
            error_rate: 0.0,
            max_body: 1024 * 1024,
            max_results: 200,
            bulk_max_operations: 1000,
        }
    }
}

/// Shared state of a running server.
pub struct AppState {
    pub config: ServerConfig,
    pub faults: Faults,
    pub store: Store,
    pub registry: &'static Registry,
    /// User and Group with every string attribute made caseExact: what `filter-case-sensitive`
    /// evaluates filters against.
    pub case_sensitive_types: [ResourceType; 2],
    pub local_addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn case_sensitive(rt: &ResourceType) -> ResourceType {
    fn flip(a: &mut crate::scim::schema::AttributeDef) {
        a.case_exact = true;
        a.sub_attributes.iter_mut().for_each(flip);
    }
    let mut rt = rt.clone();
    rt.schema.attributes.iter_mut().for_each(flip);
    rt.common.iter_mut().for_each(flip);
    for (s, _) in rt.extensions.iter_mut() {
        s.attributes.iter_mut().for_each(flip);
    }
    rt
}

/// The routes under the base path.
pub fn router(state: Arc<AppState>) -> Router {
    use routes as r;
    macro_rules! typed {
        ($kind:expr) => {{
            let k = $kind;
            Router::new()
                .route(
                    "/",
                    get(
                        move |s: State<Arc<AppState>>,
                              h: HeaderMap,
                              q: Query<HashMap<String, String>>| {
                            r::list(s, k, h, q)
                        },
                    )
                    .post(
                        move |s: State<Arc<AppState>>,
                              h: HeaderMap,
                              q: Query<HashMap<String, String>>,
                              b: http::ScimBody| r::create(s, k, h, q, b),
                    ),
                )
                .route(
                    "/.search",
                    post(
                        move |s: State<Arc<AppState>>, h: HeaderMap, b: http::ScimBody| {
                            r::search(s, Some(k), h, b)
                        },
                    ),
                )
                .route(
                    "/{id}",
                    get(
                        move |s: State<Arc<AppState>>,
                              p: http::ScimPath,
                              h: HeaderMap,
                              q: Query<HashMap<String, String>>| {
                            r::get(s, k, Path(p.0), h, q)
                        },
                    )
                    .put(
                        move |s: State<Arc<AppState>>,
                              p: http::ScimPath,
                              h: HeaderMap,
                              q: Query<HashMap<String, String>>,
                              b: http::ScimBody| {
                            r::replace(s, k, Path(p.0), h, q, b)
                        },
                    )
                    .patch(
                        move |s: State<Arc<AppState>>,
                              p: http::ScimPath,
                              h: HeaderMap,
                              q: Query<HashMap<String, String>>,
                              b: http::ScimBody| {
                            r::patch(s, k, Path(p.0), h, q, b)
                        },
                    )
                    .delete(
                        move |s: State<Arc<AppState>>, p: http::ScimPath, h: HeaderMap| {
                            r::delete(s, k, Path(p.0), h)
                        },
                    ),
                )
        }};
    }
    let read_only = |what: &'static str| {
        move |State(s): State<Arc<AppState>>| async move { http::method_not_allowed(&s, what) }
    };
    let api = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::spc)
                .post(read_only("/ServiceProviderConfig"))
                .put(read_only("/ServiceProviderConfig"))
                .patch(read_only("/ServiceProviderConfig"))
                .delete(read_only("/ServiceProviderConfig")),
        )
        .route(
            "/ResourceTypes",
            get(discovery::resource_types)
                .post(read_only("/ResourceTypes"))
                .put(read_only("/ResourceTypes"))
                .patch(read_only("/ResourceTypes"))
                .delete(read_only("/ResourceTypes")),
        )
        .route(
            "/ResourceTypes/{id}",
            get(discovery::resource_type)
                .post(read_only("/ResourceTypes"))
                .put(read_only("/ResourceTypes"))
                .patch(read_only("/ResourceTypes"))
                .delete(read_only("/ResourceTypes")),
        )
        .route(
            "/Schemas",
            get(discovery::schemas)
                .post(read_only("/Schemas"))
                .put(read_only("/Schemas"))
                .patch(read_only("/Schemas"))
                .delete(read_only("/Schemas")),
        )
        .route(
            "/Schemas/{id}",
            get(discovery::schema)
                .post(read_only("/Schemas"))
                .put(read_only("/Schemas"))
                .patch(read_only("/Schemas"))
                .delete(read_only("/Schemas")),
        )
        .nest("/Users", typed!(Kind::User))
        .nest("/Groups", typed!(Kind::Group))
        .route(
            "/.search",
            post(|s: State<Arc<AppState>>, h: HeaderMap, b: http::ScimBody| {
                r::search(s, None, h, b)
            }),
        )
        .route("/Bulk", post(bulk::bulk))
        .route("/Me", axum::routing::any(r::me))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_supported)
        .layer(middleware::from_fn_with_state(state.clone(), http::auth))
        .layer(middleware::from_fn_with_state(state.clone(), http::inject))
        // Our own extractor enforces the limit and answers 413 as a SCIM Error.
        .layer(DefaultBodyLimit::disable());
    let base = state.config.base_path.trim_end_matches('/').to_string();
    let app = if base.is_empty() {
        api
    } else {
        let mut app = Router::new().nest(&base, api.clone());
        // `version-segment-ignored`: every `/vN` in place of the base path's version is served
        // as if it were the real one.
        let versioned = base.rsplit_once('/').filter(|(_, v)| v.starts_with('v'));
        if let (true, Some((prefix, _))) = (
            state.faults.on(faults::Fault::VersionSegmentIgnored),
            versioned,
        ) {
            app = app.nest(&format!("{prefix}/{{version}}"), api);
        }
        app.fallback(http::not_found)
    };
    app.with_state(state)
}

/// A server running in the background of this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT/scim/v2`
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.handle).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Opens the store, binds the listener and serves in a background task.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    if !config.base_path.starts_with('/') && !config.base_path.is_empty() {
        return Err(ServerError::Config(format!(
            "--base-path must start with '/', got {:?}",
            config.base_path
        )));
    }
    if !(0.0..=1.0).contains(&config.error_rate) {
        return Err(ServerError::Config(
            "--error-rate must be between 0 and 1".into(),
        ));
    }
    let store = Store::open(config.db.as_deref(), config.sync)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let registry = Registry::builtin();
    let state = Arc::new(AppState {
        faults: config.faults.clone(),
        case_sensitive_types: [
            case_sensitive(&registry.user),
            case_sensitive(&registry.group),
        ],
        config,
        store,
        registry,
        local_addr: addr,
    });
    let base_url = format!(
        "http://{addr}{}",
        state.config.base_path.trim_end_matches('/')
    );
    let app = router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        base_url,
        shutdown: Some(tx),
        handle,
    })
}
