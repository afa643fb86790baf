//! The kiosk's page, script and style sheet, built into the binary (no Node toolchain: plain
//! HTML, CSS and JavaScript, written to be read).

/// The page; `{{token}}` and `{{lang}}` are filled in by the server.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The script: renders the snapshots the server pushes, sends the few state changes.
pub const KIOSK_JS: &str = include_str!("../assets/kiosk.js");
/// The style sheet, for an 800×480 touchscreen and a phone's browser.
pub const KIOSK_CSS: &str = include_str!("../assets/kiosk.css");
/// The admin backend's page.
pub const ADMIN_HTML: &str = include_str!("../assets/admin.html");
/// Its script.
pub const ADMIN_JS: &str = include_str!("../assets/admin.js");
/// Its style sheet.
pub const ADMIN_CSS: &str = include_str!("../assets/admin.css");
