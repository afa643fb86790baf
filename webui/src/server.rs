//! The HTTP server: the kiosk's page and assets, and the JSON API under `/api/v1` with its
//! event stream (Server-Sent Events).
//!
//! Who may talk to it: the box itself (loopback) and, when configured, the local networks
//! listed; never the phone's network, whatever else is configured. State changes are POST
//! only, carry the page's token in `X-Tcheck-Token` (a page of another origin cannot read
//! it, and cannot send the header without a CORS preflight, which is never granted), and a
//! request whose `Origin` is not this server, or that the browser marks cross-site, is
//! refused.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ipnet::IpNet;
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::assets;
use crate::check::{CheckError, Controller};

/// How the server is reached and who may reach it.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Networks besides the box itself allowed to use the kiosk (e.g. a helper's laptop on
    /// the local network); empty: the box only.
    pub kiosk_networks: Vec<IpNet>,
    /// Networks never allowed, whatever the above says: the phone's.
    pub denied_networks: Vec<IpNet>,
    /// The kiosk's language when the page does not ask for one.
    pub language: String,
    /// The access point's settings, for choosing the box's own Wi-Fi network (its uplink);
    /// none: the kiosk offers no choice.
    pub uplink: Option<tcheck_apctl::ApConfig>,
    /// The names the kiosk answers to besides IP addresses and `localhost`
    /// ([`crate::http::box_names`]); a request for any other name is refused.
    pub host_names: Vec<String>,
}

#[derive(Clone)]
struct AppState {
    ctrl: Arc<Controller>,
    config: Arc<ServerConfig>,
    token: Arc<str>,
    /// Held while a Wi-Fi scan runs.
    scanning: Arc<tokio::sync::Semaphore>,
}

/// The application's routes, for [`serve`] and for tests.
pub fn router(ctrl: Arc<Controller>, config: ServerConfig) -> Router {
    let state = AppState {
        ctrl,
        config: Arc::new(config),
        token: Arc::from(random_token()),
        scanning: Arc::new(tokio::sync::Semaphore::new(1)),
    };
    Router::new()
        .route("/", get(index))
        .route(
            "/assets/kiosk.js",
            get(|| async { asset(assets::KIOSK_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/kiosk.css",
            get(|| async { asset(assets::KIOSK_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/v1/i18n", get(i18n))
        .route("/api/v1/check", get(check))
        .route("/api/v1/events", get(events))
        .route("/api/v1/capture/start", post(start))
        .route("/api/v1/capture/stop", post(stop))
        .route("/api/v1/check/reset", post(reset))
        .route("/api/v1/check/qr.svg", get(qr))
        .route("/api/v1/check/report.html", get(report_html))
        .route("/api/v1/check/report.json", get(report_json))
        .route("/api/v1/check/capture.pcapng", get(capture))
        .route("/api/v1/usb", get(usb))
        .route("/api/v1/check/save-usb", post(save_usb))
        .route("/api/v1/uplink/scan", post(uplink_scan))
        .route("/api/v1/uplink/join", post(uplink_join))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// The admin backend's listener.
#[derive(Clone, Debug)]
pub struct AdminListen {
    /// Where it listens (HTTPS).
    pub listen: SocketAddr,
    /// The certificate (PEM).
    pub cert: std::path::PathBuf,
    /// Its private key (PEM).
    pub key: std::path::PathBuf,
    /// What it works on.
    pub config: crate::admin::AdminConfig,
}

/// Listens on `config.listen` (the kiosk, HTTP) and, with `admin`, on the admin backend's
/// address (HTTPS), and serves until SIGINT or SIGTERM; `ready` is called with the
/// addresses bound (useful with port 0).
pub async fn serve(
    ctrl: Arc<Controller>,
    config: ServerConfig,
    admin: Option<AdminListen>,
    ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let admin = match admin {
        Some(a) => {
            let acceptor = crate::tls::acceptor(&a.cert, &a.key).map_err(std::io::Error::other)?;
            let tcp = tokio::net::TcpListener::bind(a.listen).await?;
            Some((crate::tls::TlsListener::new(tcp, acceptor)?, a.config))
        }
        None => None,
    };
    let admin_addr = match &admin {
        Some((l, _)) => Some(axum::serve::Listener::local_addr(l)?),
        None => None,
    };
    ready(listener.local_addr()?, admin_addr);
    ctrl.tick();
    let app = router(ctrl, config).into_make_service_with_connect_info::<SocketAddr>();
    let kiosk = axum::serve(listener, app).with_graceful_shutdown(shutdown());
    match admin {
        None => kiosk.await,
        Some((tls, admin_config)) => {
            let app = crate::admin::router(admin_config)
                .into_make_service_with_connect_info::<crate::tls::AdminPeer>();
            let admin = axum::serve(tls, app).with_graceful_shutdown(shutdown());
            tokio::try_join!(kiosk, admin).map(|_| ())
        }
    }
}

async fn shutdown() {
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

fn random_token() -> String {
    let mut b = [0u8; 24];
    // Without randomness the token would be guessable: refuse every state change then.
    if getrandom::fill(&mut b).is_err() {
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Who may ask what: see the module's documentation.
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return refuse(StatusCode::FORBIDDEN, "no peer address");
    };
    if !allowed(&st.config, peer) {
        return refuse(StatusCode::FORBIDDEN, "this address may not use the kiosk");
    }
    if !crate::http::host_allowed(req.headers(), &st.config.host_names) {
        return refuse(StatusCode::MISDIRECTED_REQUEST, "unknown host name");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Err(why) = same_origin(req.headers(), &st.token) {
            return refuse(StatusCode::FORBIDDEN, why);
        }
    }
    let mut resp = next.run(req).await;
    crate::http::secure(&mut resp);
    resp
}

fn allowed(config: &ServerConfig, peer: IpAddr) -> bool {
    let peer = crate::http::unmapped(peer);
    if config.denied_networks.iter().any(|n| n.contains(&peer)) {
        return false;
    }
    peer.is_loopback() || config.kiosk_networks.iter().any(|n| n.contains(&peer))
}

/// A state change must come from this server's own page: its token, and the same origin.
fn same_origin(headers: &HeaderMap, token: &str) -> Result<(), &'static str> {
    let sent = headers
        .get("x-tcheck-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token.is_empty() || !crate::http::constant_time_eq(sent.as_bytes(), token.as_bytes()) {
        return Err("missing or wrong page token");
    }
    // The kiosk is plain HTTP on the box; a page served over HTTPS by a proxy is accepted too.
    crate::http::same_origin(headers, "http")
        .or_else(|_| crate::http::same_origin(headers, "https"))
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("{why}\n")).into_response()
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index(State(st): State<AppState>) -> Response {
    // Both values are ours (hex and a known language code): nothing from outside.
    let page = assets::INDEX_HTML
        .replace("{{token}}", &st.token)
        .replace("{{lang}}", &st.config.language)
        .replace(
            "{{wifi}}",
            if st.config.uplink.is_some() { "1" } else { "" },
        );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn i18n(State(st): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let code = q.lang.unwrap_or_else(|| st.config.language.clone());
    Json(crate::i18n::texts(&code)).into_response()
}

async fn check(State(st): State<AppState>) -> Response {
    Json(st.ctrl.snapshot()).into_response()
}

async fn events(State(st): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = st.ctrl.subscribe();
    let first = serde_json::to_string(&st.ctrl.snapshot()).unwrap_or_default();
    let initial = tokio_stream::once(Ok(Event::default().data(first)));
    // A slow page may miss snapshots: each one is complete, the next one catches up.
    let rest =
        BroadcastStream::new(rx).filter_map(|m| m.ok().map(|json| Ok(Event::default().data(json))));
    Sse::new(initial.chain(rest)).keep_alive(KeepAlive::default())
}

#[derive(Deserialize, Default)]
struct StartRequest {
    #[serde(default)]
    offline: bool,
}

fn check_result(r: Result<(), CheckError>) -> Response {
    match r {
        Ok(()) => (StatusCode::ACCEPTED, Json(serde_json::json!({"ok": true}))).into_response(),
        Err(e) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn start(State(st): State<AppState>, body: Option<Json<StartRequest>>) -> Response {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    check_result(st.ctrl.start(req.offline))
}

async fn stop(State(st): State<AppState>) -> Response {
    check_result(st.ctrl.stop())
}

async fn reset(State(st): State<AppState>) -> Response {
    check_result(st.ctrl.reset())
}

async fn usb() -> Response {
    match tokio::task::spawn_blocking(crate::save::usb_keys).await {
        Ok(Ok(keys)) => Json(serde_json::json!({ "keys": keys })).into_response(),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize, Default)]
struct SaveRequest {
    #[serde(default)]
    passphrase: Option<String>,
}

async fn save_usb(State(st): State<AppState>, body: Option<Json<SaveRequest>>) -> Response {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let ctrl = st.ctrl.clone();
    let r = tokio::task::spawn_blocking(move || {
        let pass = req.passphrase.as_deref().filter(|p| !p.is_empty());
        ctrl.save_to_usb(pass)
    })
    .await;
    match r {
        Ok(Ok(path)) => Json(serde_json::json!({ "ok": true, "file": path })).into_response(),
        Ok(Err(e)) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// How long a scan is given before its results are read.
const SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Scans (a POST: it makes the radio work) and lists the networks; one scan at a time.
async fn uplink_scan(State(st): State<AppState>) -> Response {
    let Some(config) = st.config.uplink.clone() else {
        return refuse(StatusCode::NOT_FOUND, "no Wi-Fi uplink configured");
    };
    let Ok(scanning) = st.scanning.clone().try_acquire_owned() else {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "a scan is already running");
    };
    // The permit goes with the work: a client that leaves does not free it early.
    let r = tokio::task::spawn_blocking(move || {
        let _scanning = scanning;
        let wifi = tcheck_apctl::uplink::WifiManager::open(&config)?;
        wifi.scan()?;
        std::thread::sleep(SCAN_WAIT);
        wifi.networks()
    })
    .await;
    match r {
        Ok(Ok(list)) => Json(serde_json::json!({ "networks": list })).into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_GATEWAY,
            Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct JoinRequest {
    ssid: String,
    #[serde(default)]
    password: Option<String>,
}

async fn uplink_join(State(st): State<AppState>, Json(req): Json<JoinRequest>) -> Response {
    let Some(config) = st.config.uplink.clone() else {
        return refuse(StatusCode::NOT_FOUND, "no Wi-Fi uplink configured");
    };
    let r = tokio::task::spawn_blocking(move || {
        let wifi = tcheck_apctl::uplink::WifiManager::open(&config)?;
        let pass = req.password.as_deref().filter(|p| !p.is_empty());
        wifi.join(&req.ssid, pass)
    })
    .await;
    match r {
        Ok(Ok(())) => Json(serde_json::json!({ "ok": true })).into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn qr(State(st): State<AppState>) -> Response {
    let Some(payload) = st.ctrl.qr_payload() else {
        return refuse(StatusCode::NOT_FOUND, "no network");
    };
    match qrcode::QrCode::new(payload.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build();
            ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn report_html(State(st): State<AppState>) -> Response {
    match st.ctrl.report_html() {
        Some(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tcheck-report.html\"",
                ),
            ],
            html,
        )
            .into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no report yet"),
    }
}

async fn report_json(State(st): State<AppState>) -> Response {
    match st.ctrl.report_json() {
        Some(v) => (
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tcheck-report.json\"",
            )],
            Json(v),
        )
            .into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no report yet"),
    }
}

async fn capture(State(st): State<AppState>) -> Response {
    let Some(path) = st.ctrl.capture_file() else {
        return refuse(StatusCode::NOT_FOUND, "no capture");
    };
    match tokio::fs::File::open(&path).await {
        Ok(f) => (
            [
                (header::CONTENT_TYPE, "application/vnd.tcpdump.pcap"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tcheck-capture.pcapng\"",
                ),
            ],
            Body::from_stream(file_chunks(f)),
        )
            .into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// A file as a stream of chunks, without reading it whole into memory.
fn file_chunks(mut f: tokio::fs::File) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send {
    use tokio::io::AsyncReadExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; 64 << 10];
            match f.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn state_changes_need_the_token_and_the_same_origin() {
        let t = "abc123";
        assert!(same_origin(
            &headers(&[("x-tcheck-token", t), ("host", "127.0.0.1:8080")]),
            t
        )
        .is_ok());
        assert!(same_origin(
            &headers(&[
                ("x-tcheck-token", t),
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin")
            ]),
            t
        )
        .is_ok());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")]), t).is_err());
        assert!(same_origin(&headers(&[("x-tcheck-token", "abc124")]), t).is_err());
        assert!(same_origin(
            &headers(&[
                ("x-tcheck-token", t),
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example")
            ]),
            t
        )
        .is_err());
        assert!(same_origin(
            &headers(&[("x-tcheck-token", t), ("sec-fetch-site", "cross-site")]),
            t
        )
        .is_err());
        assert!(same_origin(&headers(&[("x-tcheck-token", "")]), "").is_err());
    }

    #[test]
    fn the_phone_network_is_refused_even_if_listed() {
        let c = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            kiosk_networks: vec![
                "192.168.1.0/24".parse().unwrap(),
                "10.42.0.0/16".parse().unwrap(),
            ],
            denied_networks: vec!["10.42.0.0/24".parse().unwrap()],
            language: "en".into(),
            uplink: None,
            host_names: Vec::new(),
        };
        assert!(allowed(&c, "127.0.0.1".parse().unwrap()));
        assert!(allowed(&c, "::1".parse().unwrap()));
        assert!(allowed(&c, "192.168.1.20".parse().unwrap()));
        assert!(allowed(&c, "::ffff:192.168.1.20".parse().unwrap()));
        assert!(!allowed(&c, "10.42.0.12".parse().unwrap()));
        assert!(!allowed(&c, "::ffff:10.42.0.12".parse().unwrap()));
        assert!(!allowed(&c, "8.8.8.8".parse().unwrap()));
    }
}
