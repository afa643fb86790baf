//! The admin backend, on its own HTTPS listener: login, the indicators and the whitelist
//! (list, search, add, delete, import by upload, export), the configuration file (edited
//! with validation, replaced atomically), past analyses.

pub mod auth;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ipnet::IpNet;
use serde::Deserialize;
use tcheck_engine::ioc::IocKind;
use tcheck_store::Store;

use crate::assets;
use crate::tls::AdminPeer;
use auth::{Session, Sessions};

/// Per feed, its name and what an update changed (or why it failed).
pub type FeedResults = Vec<(String, Result<String, String>)>;

/// Feeds (watchers) as the command line manages them: adding checks the address, updating
/// fetches over the network. Given by the binary.
pub trait Feeds: Send + Sync {
    /// Checks `url` and adds the feed.
    fn add(&self, store: &mut Store, name: &str, url: &str, whitelist: bool) -> Result<(), String>;
    /// Fetches the feeds named (all when empty); per feed, what changed or why not.
    fn update(&self, store: &mut Store, names: &[String]) -> Result<FeedResults, String>;
}

/// What the admin backend works on.
#[derive(Clone)]
pub struct AdminConfig {
    /// The indicator database.
    pub db: PathBuf,
    /// The configuration file (`[heuristics]`, `[ap]`), edited from the backend.
    pub config_file: Option<PathBuf>,
    /// Networks never allowed (the phone's).
    pub denied_networks: Vec<IpNet>,
    /// The names the backend answers to besides IP addresses and `localhost`
    /// ([`crate::http::box_names`]); a request for any other name is refused.
    pub host_names: Vec<String>,
    /// Feed management.
    pub feeds: Arc<dyn Feeds>,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("db", &self.db)
            .field("config_file", &self.config_file)
            .field("denied_networks", &self.denied_networks)
            .finish()
    }
}

#[derive(Clone)]
struct AdminState {
    config: Arc<AdminConfig>,
    sessions: Arc<Sessions>,
    verifying: Arc<tokio::sync::Semaphore>,
    /// Held while the configuration file is being replaced.
    config_edit: Arc<tokio::sync::Mutex<()>>,
}

/// The admin routes.
pub fn router(config: AdminConfig) -> Router {
    let state = AdminState {
        config: Arc::new(config),
        sessions: Arc::new(Sessions::default()),
        verifying: Arc::new(tokio::sync::Semaphore::new(2)),
        config_edit: Arc::new(tokio::sync::Mutex::new(())),
    };
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/admin") }),
        )
        .route(
            "/admin",
            get(|| async { page(assets::ADMIN_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/admin/admin.js",
            get(|| async { page(assets::ADMIN_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/admin/admin.css",
            get(|| async { page(assets::ADMIN_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/session", get(session))
        .route(
            "/api/v1/iocs",
            get(iocs_list).post(iocs_add).delete(iocs_remove),
        )
        .route(
            "/api/v1/iocs/import",
            post(iocs_import).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/api/v1/iocs/export", get(iocs_export))
        .route(
            "/api/v1/whitelist",
            get(whitelist_list)
                .post(whitelist_add)
                .delete(whitelist_remove),
        )
        .route("/api/v1/config", get(config_get).put(config_put))
        .route("/api/v1/analyses", get(analyses))
        .route("/api/v1/analyses/{id}", get(analysis))
        .route(
            "/api/v1/feeds",
            get(feeds_list).post(feeds_add).delete(feeds_remove),
        )
        .route("/api/v1/feeds/update", post(feeds_update))
        .route("/api/v1/backup", get(backup))
        .route(
            "/api/v1/restore",
            post(restore).layer(axum::extract::DefaultBodyLimit::max(MAX_RESTORE)),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": why.into() }))).into_response()
}

fn session_of(st: &AdminState, headers: &HeaderMap) -> Option<(String, Session)> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = auth::cookie(cookies, auth::COOKIE)?;
    st.sessions.get(id).map(|s| (id.to_string(), s))
}

/// Address, origin, session and CSRF checks, then the security headers.
async fn guard(State(st): State<AdminState>, mut req: Request, next: Next) -> Response {
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<AdminPeer>>()
        .map(|c| c.0 .0.ip())
    else {
        return refuse(StatusCode::FORBIDDEN, "no peer address");
    };
    let peer = crate::http::unmapped(peer);
    if st.config.denied_networks.iter().any(|n| n.contains(&peer)) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this address may not use the admin backend",
        );
    }
    if !crate::http::host_allowed(req.headers(), &st.config.host_names) {
        return refuse(StatusCode::MISDIRECTED_REQUEST, "unknown host name");
    }
    let path = req.uri().path().to_string();
    let changes = req.method() != Method::GET && req.method() != Method::HEAD;
    if changes {
        if let Err(why) = crate::http::same_origin(req.headers(), "https") {
            return refuse_unread(req, StatusCode::FORBIDDEN, why).await;
        }
    }
    let public = path == "/" || path.starts_with("/admin") || path == "/api/v1/login";
    if !public {
        let Some((id, session)) = session_of(&st, req.headers()) else {
            return refuse_unread(req, StatusCode::UNAUTHORIZED, "log in first").await;
        };
        // A password changed (or an account removed) since the login ends the session.
        let user = session.user.clone();
        let current = match with_store(&st.config.db, move |s| {
            s.account_hash(&user).map_err(|e| e.to_string())
        })
        .await
        {
            Ok(h) => h,
            Err(_) => {
                return refuse_unread(
                    req,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the account database cannot be read",
                )
                .await
            }
        };
        if current.as_deref() != Some(session.password_hash.as_str()) {
            st.sessions.close(&id);
            return refuse_unread(
                req,
                StatusCode::UNAUTHORIZED,
                "the password has changed: log in again",
            )
            .await;
        }
        if changes && path != "/api/v1/logout" {
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !crate::http::constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
                return refuse_unread(req, StatusCode::FORBIDDEN, "missing or wrong CSRF token")
                    .await;
            }
        }
        req.extensions_mut().insert(session);
    }
    req.extensions_mut().insert(PeerIp(peer));
    let mut resp = next.run(req).await;
    crate::http::secure(&mut resp);
    resp.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    resp
}

/// The most of a refused request's body read (and dropped) before answering: a client
/// still sending its upload when the connection closes gets a reset instead of the reason
/// (an expired session during a restore would look like a network failure).
const REFUSED_BODY_READ: usize = 64 << 20;

/// Refuses `req` after reading what it sends, up to [`REFUSED_BODY_READ`] bytes and for at
/// most ten seconds.
async fn refuse_unread(req: Request, status: StatusCode, why: &str) -> Response {
    use tokio_stream::StreamExt;
    let mut body = req.into_body().into_data_stream();
    let mut read = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while read <= REFUSED_BODY_READ {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => read += chunk.len(),
            _ => break,
        }
    }
    refuse(status, why)
}

#[derive(Clone, Copy)]
struct PeerIp(IpAddr);

/// Runs `f` on the database, off the async workers.
async fn with_store<T: Send + 'static>(
    db: &Path,
    f: impl FnOnce(&mut Store) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    let db = db.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&db).map_err(|e| e.to_string())?;
        f(&mut store)
    })
    .await
    .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| refuse(StatusCode::BAD_REQUEST, e))
}

#[derive(Deserialize)]
struct LoginRequest {
    user: String,
    password: String,
}

async fn login(
    State(st): State<AdminState>,
    axum::Extension(PeerIp(peer)): axum::Extension<PeerIp>,
    Json(req): Json<LoginRequest>,
) -> Response {
    if let Err(wait) = st.sessions.may_try(peer) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed logins; try again in {} minutes",
                wait.as_secs().div_ceil(60)
            ),
        );
    }
    // Counted before the check, so that parallel attempts cannot get round the limit; a
    // success clears the count.
    st.sessions.failed(peer);
    // At most two password checks at a time (argon2 takes memory and time on purpose).
    let Ok(_permit) = st.verifying.clone().acquire_owned().await else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again");
    };
    let user = req.user.clone();
    let hash = match with_store(&st.config.db, move |s| {
        s.account_hash(&user).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let password = req.password;
    let checked_hash = hash.clone();
    let ok = tokio::task::spawn_blocking(move || {
        match checked_hash {
            Some(h) => auth::verify_password(&password, &h),
            None => {
                // Without such an account, spend the time of a verification all the same,
                // so that the answer's delay does not tell which names exist.
                auth::verify_password(&password, auth::dummy_hash());
                false
            }
        }
    })
    .await
    .unwrap_or(false);
    if !ok {
        return refuse(StatusCode::UNAUTHORIZED, "wrong name or password");
    }
    st.sessions.succeeded(peer);
    let Some((id, csrf)) = st
        .sessions
        .open(&req.user, hash.as_deref().unwrap_or_default())
    else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    let cookie = format!(
        "{}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        auth::COOKIE,
        auth::SESSION_LIFETIME.as_secs()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "user": req.user, "csrf": csrf })),
    )
        .into_response()
}

async fn logout(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    if let Some((id, _)) = session_of(&st, &headers) {
        st.sessions.close(&id);
    }
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
                auth::COOKIE
            ),
        )],
        Json(serde_json::json!({ "ok": true })),
    )
        .into_response()
}

async fn session(axum::Extension(s): axum::Extension<Session>) -> Response {
    Json(serde_json::json!({ "user": s.user, "csrf": s.csrf })).into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    limit: Option<usize>,
}

fn kind_arg(kind: Option<&str>) -> Result<Option<IocKind>, String> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => IocKind::parse(k)
            .map(Some)
            .ok_or_else(|| format!("unknown indicator kind {k:?}")),
    }
}

fn ioc_json(i: &tcheck_engine::ioc::Ioc) -> serde_json::Value {
    serde_json::json!({
        "kind": i.kind.name(), "value": i.value, "tag": i.tag, "app": i.app, "source": i.source,
    })
}

async fn iocs_list(State(st): State<AdminState>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(100).min(1000);
    let r = with_store(&st.config.db, move |s| {
        let kind = kind_arg(q.kind.as_deref())?;
        let needle = q.q.unwrap_or_default().to_ascii_lowercase();
        let all = s.iocs(kind, None, None).map_err(|e| e.to_string())?;
        let total = all.len();
        let found: Vec<_> = all
            .iter()
            .filter(|i| {
                needle.is_empty()
                    || i.value.contains(&needle)
                    || i.app
                        .as_deref()
                        .is_some_and(|a| a.to_ascii_lowercase().contains(&needle))
                    || i.tag.contains(&needle)
            })
            .collect();
        let matched = found.len();
        let items: Vec<_> = found.into_iter().take(limit).map(ioc_json).collect();
        Ok(serde_json::json!({ "total": total, "matched": matched, "items": items }))
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

#[derive(Deserialize)]
struct AddRequest {
    kind: String,
    value: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    app: Option<String>,
}

async fn iocs_add(State(st): State<AdminState>, Json(req): Json<AddRequest>) -> Response {
    let r = with_store(&st.config.db, move |s| {
        let kind = kind_arg(Some(&req.kind))?.ok_or("a kind is needed")?;
        let app = req.app.as_deref().filter(|a| !a.trim().is_empty());
        let ioc = s
            .add(kind, &req.value, req.tag.trim(), app)
            .map_err(|e| e.to_string())?;
        Ok(ioc_json(&ioc))
    })
    .await;
    r.map_or_else(|e| e, |v| (StatusCode::CREATED, Json(v)).into_response())
}

#[derive(Deserialize)]
struct RemoveQuery {
    kind: String,
    value: String,
}

async fn iocs_remove(State(st): State<AdminState>, Query(q): Query<RemoveQuery>) -> Response {
    let r = with_store(&st.config.db, move |s| {
        let kind = kind_arg(Some(&q.kind))?.ok_or("a kind is needed")?;
        s.remove(kind, &q.value).map_err(|e| e.to_string())
    })
    .await;
    r.map_or_else(
        |e| e,
        |n| Json(serde_json::json!({ "removed": n })).into_response(),
    )
}

#[derive(Deserialize)]
struct ImportQuery {
    name: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    whitelist: bool,
}

/// Largest upload accepted (a big STIX bundle is a few megabytes).
const MAX_UPLOAD: usize = 32 << 20;

async fn iocs_import(
    State(st): State<AdminState>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_UPLOAD {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the file is larger than 32 MiB",
        );
    }
    let r = with_store(&st.config.db, move |s| {
        use tcheck_engine::ioc::import::{read, Format};
        let name = Path::new(&q.name).file_name().map_or_else(
            || "upload".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let tag = if q.whitelist {
            "whitelist"
        } else {
            q.tag.trim()
        };
        let import =
            read(Format::detect(&name, &body), &name, &body, tag).map_err(|e| e.to_string())?;
        let stats = s
            .import(&name, &import, q.whitelist)
            .map_err(|e| e.to_string())?;
        Ok(serde_json::json!({
            "file": name, "added": stats.added, "already": stats.updated, "deleted": stats.deleted,
            "rules": stats.rules, "skipped": import.skipped.values().sum::<usize>(),
        }))
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn iocs_export(State(st): State<AdminState>, Query(q): Query<ExportQuery>) -> Response {
    let format = q.format.unwrap_or_else(|| "tinycheck".into());
    let r = with_store(&st.config.db, move |s| {
        let all = s.iocs(None, None, None).map_err(|e| e.to_string())?;
        match format.as_str() {
            "tinycheck" => Ok(tcheck_engine::ioc::export::tinycheck(&all)),
            "stix2" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let ts = tcheck_engine::Timestamp::from_parts(i64::try_from(now).unwrap_or(0), 0);
                Ok(tcheck_engine::ioc::export::stix2(&all, &ts.iso_seconds()))
            }
            other => Err(format!("no export format {other:?} (tinycheck, stix2)")),
        }
    })
    .await;
    r.map_or_else(
        |e| e,
        |v| {
            (
                [(
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tcheck-indicators.json\"",
                )],
                Json(v),
            )
                .into_response()
        },
    )
}

async fn whitelist_list(State(st): State<AdminState>) -> Response {
    let r = with_store(&st.config.db, |s| {
        let all = s.whitelist().map_err(|e| e.to_string())?;
        Ok(serde_json::json!({ "items": all.iter().map(ioc_json).collect::<Vec<_>>() }))
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

async fn whitelist_add(State(st): State<AdminState>, Json(req): Json<AddRequest>) -> Response {
    let r = with_store(&st.config.db, move |s| {
        let kind = kind_arg(Some(&req.kind))?.ok_or("a kind is needed")?;
        s.whitelist_add(kind, &req.value).map_err(|e| e.to_string())
    })
    .await;
    r.map_or_else(
        |e| e,
        |v| (StatusCode::CREATED, Json(serde_json::json!({ "value": v }))).into_response(),
    )
}

async fn whitelist_remove(State(st): State<AdminState>, Query(q): Query<RemoveQuery>) -> Response {
    let r = with_store(&st.config.db, move |s| {
        let kind = kind_arg(Some(&q.kind))?.ok_or("a kind is needed")?;
        s.whitelist_remove(kind, &q.value)
            .map_err(|e| e.to_string())
    })
    .await;
    r.map_or_else(
        |e| e,
        |n| Json(serde_json::json!({ "removed": n })).into_response(),
    )
}

async fn config_get(State(st): State<AdminState>) -> Response {
    let Some(path) = st.config.config_file.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "tcheck serve was started without --config",
        );
    };
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => Json(serde_json::json!({ "file": path.display().to_string(), "text": text }))
            .into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, format!("{}: {e}", path.display())),
    }
}

#[derive(Deserialize)]
struct ConfigRequest {
    text: String,
}

/// Checks a whole configuration the way the programs that read it will.
pub fn validate_config(name: &str, text: &str) -> Result<(), String> {
    crate::kiosk_config::KioskConfig::from_toml(name, text)?;
    tcheck_engine::verdict::Settings::from_toml(name, text)?;
    tcheck_apctl::ApConfig::from_toml(name, text)?;
    Ok(())
}

async fn config_put(State(st): State<AdminState>, Json(req): Json<ConfigRequest>) -> Response {
    let Some(path) = st.config.config_file.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "tcheck serve was started without --config",
        );
    };
    let name = path.file_name().map_or_else(
        || "configuration".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    if let Err(why) = validate_config(&name, &req.text) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    // One change at a time, from reading the current file to replacing it: two admins
    // saving at once get one result or the other, each checked against what it replaces.
    let editing = st.config_edit.clone().lock_owned().await;
    // The programs the box runs and the paths it writes are not the web's to change: a
    // stolen session must not become code execution.
    let current = tokio::fs::read_to_string(&path).await.unwrap_or_default();
    if let (Ok(old), Ok(new)) = (
        tcheck_apctl::ApConfig::from_toml(&name, &current),
        tcheck_apctl::ApConfig::from_toml(&name, &req.text),
    ) {
        if old.tools != new.tools
            || old.runtime_dir != new.runtime_dir
            || old.wpa_ctrl != new.wpa_ctrl
        {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "[ap] tools, runtime_dir and wpa_ctrl can only be changed on the box itself",
            );
        }
    }
    // A new temporary file in the same directory, with the old file's permissions, synced,
    // then renamed over the old one: the file is the old or the new, never half of either.
    let Some(suffix) = auth::random_id() else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    // The lock goes with the write: a client that leaves does not release it early.
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let _editing = editing;
        use std::io::Write;
        let tmp = path.with_extension(format!("toml.{}.tmp", suffix.get(..12).unwrap_or("x")));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let written = (|| {
            if let Ok(meta) = std::fs::metadata(&path) {
                f.set_permissions(meta.permissions())?;
            }
            f.write_all(req.text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    })
    .await;
    match result {
        Ok(Ok(())) => Json(serde_json::json!({ "ok": true })).into_response(),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn analyses(State(st): State<AdminState>) -> Response {
    let r = with_store(&st.config.db, |s| {
        let list = s.analyses(200).map_err(|e| e.to_string())?;
        Ok(serde_json::json!({
            "items": list.iter().map(|(id, started, capture, verdict)| serde_json::json!({
                "id": id, "started": started, "capture": capture, "verdict": verdict,
            })).collect::<Vec<_>>()
        }))
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

async fn analysis(
    State(st): State<AdminState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let r = with_store(&st.config.db, move |s| {
        s.analysis(id).map_err(|e| e.to_string())
    })
    .await;
    match r {
        Ok(Some(json)) => match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(v) => Json(v).into_response(),
            Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Ok(None) => refuse(StatusCode::NOT_FOUND, format!("no analysis {id}")),
        Err(resp) => resp,
    }
}

async fn feeds_list(State(st): State<AdminState>) -> Response {
    let r = with_store(&st.config.db, |s| {
        let feeds = s.feeds().map_err(|e| e.to_string())?;
        Ok(
            serde_json::json!({ "items": feeds.iter().map(|f| serde_json::json!({
            "name": f.name, "url": f.url, "whitelist": f.whitelist,
            "last_fetch": f.last_fetch, "last_error": f.last_error,
        })).collect::<Vec<_>>() }),
        )
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

#[derive(Deserialize)]
struct FeedRequest {
    name: String,
    url: String,
    #[serde(default)]
    whitelist: bool,
}

async fn feeds_add(State(st): State<AdminState>, Json(req): Json<FeedRequest>) -> Response {
    let feeds = st.config.feeds.clone();
    let r = with_store(&st.config.db, move |s| {
        feeds.add(s, req.name.trim(), req.url.trim(), req.whitelist)
    })
    .await;
    r.map_or_else(
        |e| e,
        |()| (StatusCode::CREATED, Json(serde_json::json!({ "ok": true }))).into_response(),
    )
}

#[derive(Deserialize)]
struct NameQuery {
    name: String,
}

async fn feeds_remove(State(st): State<AdminState>, Query(q): Query<NameQuery>) -> Response {
    let r = with_store(&st.config.db, move |s| {
        if !s.feed_remove(&q.name).map_err(|e| e.to_string())? {
            return Err(format!("no feed named {}", q.name));
        }
        // What the feed brought goes with it.
        let gone = s
            .replace(&q.name, &Default::default(), false)
            .map_err(|e| e.to_string())?;
        Ok(gone.deleted)
    })
    .await;
    r.map_or_else(
        |e| e,
        |n| Json(serde_json::json!({ "removed_indicators": n })).into_response(),
    )
}

#[derive(Deserialize, Default)]
struct UpdateRequest {
    #[serde(default)]
    names: Vec<String>,
}

async fn feeds_update(State(st): State<AdminState>, body: Option<Json<UpdateRequest>>) -> Response {
    let names = body.map(|Json(b)| b).unwrap_or_default().names;
    let feeds = st.config.feeds.clone();
    let r = with_store(&st.config.db, move |s| feeds.update(s, &names)).await;
    r.map_or_else(
        |e| e,
        |results| {
            Json(
                serde_json::json!({ "results": results.into_iter().map(|(name, r)| match r {
                Ok(what) => serde_json::json!({ "name": name, "ok": true, "result": what }),
                Err(e) => serde_json::json!({ "name": name, "ok": false, "result": e }),
            }).collect::<Vec<_>>() }),
            )
            .into_response()
        },
    )
}

/// A scratch file next to the database (same filesystem), removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn scratch(db: &Path, what: &str) -> Option<Scratch> {
    let id = auth::random_id()?;
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some(Scratch(dir.join(format!(
        ".tcheck-{what}-{}.db",
        id.get(..16).unwrap_or("x")
    ))))
}

async fn backup(State(st): State<AdminState>) -> Response {
    let Some(tmp) = scratch(&st.config.db, "backup") else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    let path = tmp.0.clone();
    let r = with_store(&st.config.db, move |s| {
        s.backup_to(&path).map_err(|e| e.to_string())
    })
    .await;
    if let Err(resp) = r {
        return resp;
    }
    match tokio::fs::read(&tmp.0).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/vnd.sqlite3"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tcheck-backup.db\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Largest database accepted for a restore.
const MAX_RESTORE: usize = 512 << 20;

/// Writes a request body to a new file `path`, refusing it past `limit` bytes.
async fn stream_to_file(body: axum::body::Body, path: &Path, limit: usize) -> Result<(), Response> {
    use tokio::io::AsyncWriteExt;
    use tokio_stream::StreamExt;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the file is larger than {} MiB", limit >> 20),
        )
    };
    let failed = |e: std::io::Error| refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(failed)?;
    let mut stream = body.into_data_stream();
    let mut written = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("upload cut off: {e}")))?;
        written += chunk.len();
        if written > limit {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.sync_all().await.map_err(failed)
}

async fn restore(State(st): State<AdminState>, body: axum::body::Body) -> Response {
    let Some(tmp) = scratch(&st.config.db, "restore") else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    // Streamed to the scratch file as it arrives: a backup is never held in memory (a Pi 3
    // has 1 GiB), and refused past MAX_RESTORE.
    if let Err(resp) = stream_to_file(body, &tmp.0, MAX_RESTORE).await {
        return resp;
    }
    let path = tmp.0.clone();
    let r = with_store(&st.config.db, move |s| {
        // Checked before anything is replaced; a backup without an account would lock
        // every admin out.
        let summary = Store::check_file(&path).map_err(|e| format!("not restored: {e}"))?;
        if summary.accounts == 0 {
            return Err(
                "not restored: the backup has no admin account; restoring it would lock you out"
                    .into(),
            );
        }
        s.restore_from(&path)
            .map_err(|e| format!("not restored: {e}"))
    })
    .await;
    drop(tmp);
    r.map_or_else(
        |e| e,
        |sum| {
            Json(serde_json::json!({
                "ok": true, "indicators": sum.iocs, "whitelist": sum.whitelist, "accounts": sum.accounts,
            }))
            .into_response()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_upload_is_streamed_to_disk_up_to_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fits = dir.path().join("fits");
        stream_to_file(axum::body::Body::from(vec![7u8; 100]), &fits, 100)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&fits).unwrap(), vec![7u8; 100]);
        let large = dir.path().join("large");
        let refused = stream_to_file(axum::body::Body::from(vec![7u8; 101]), &large, 100)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // An existing file is never written over.
        let again = stream_to_file(axum::body::Body::from(vec![1u8; 10]), &fits, 100).await;
        assert!(again.is_err());
        assert_eq!(std::fs::read(&fits).unwrap(), vec![7u8; 100]);
    }
}
