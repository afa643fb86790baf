//! The web interface of tcheck: the kiosk on the box's touchscreen (a check in a few
//! touches: start, the network to join, the capture live, the report) and the admin backend
//! (HTTPS, login; indicators, whitelist, configuration), served by `tcheck serve`.
//!
//! [`check::Controller`] runs one check at a time through the access-point and capture
//! crates' library APIs (or a replayed capture where there is no access point) and pushes a
//! [`check::Snapshot`] to the pages at every change; the analysis itself is the binary's
//! ([`check::Analyzer`]), so that the kiosk and `tcheck analyze` report the same way.
//! [`server`] holds the routes and who may use them.

pub mod admin;
pub mod assets;
pub mod check;
pub mod http;
pub mod i18n;
pub mod kiosk_config;
pub mod replay;
pub mod save;
pub mod server;
pub mod tls;

pub use check::{Analyzer, Controller, Outcome, SourceMode};
pub use server::{router, serve, AdminListen, ServerConfig};

/// Runs [`serve`] on a runtime of its own (two worker threads: the box is small), for
/// callers without one.
pub fn serve_blocking(
    ctrl: std::sync::Arc<Controller>,
    config: ServerConfig,
    admin: Option<AdminListen>,
    ready: impl FnOnce(std::net::SocketAddr, Option<std::net::SocketAddr>),
) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tcheck-web")
        .enable_all()
        .build()?
        .block_on(serve(ctrl, config, admin, ready))
}
