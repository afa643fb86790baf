//! Which words: the keys of the language files (`engine/lang/`) that depend on what was
//! found. The texts themselves are in the language files.

use crate::ioc::IocKind;

/// The key of the verdict sentence for the highest level found.
pub(super) fn verdict_key(top: Option<super::Level>) -> &'static str {
    match top {
        Some(super::Level::High) => "verdict.high",
        Some(super::Level::Moderate) => "verdict.moderate",
        Some(super::Level::Low) => "verdict.low",
        None => "verdict.none",
    }
}

/// The key of the plain-words title of an indicator match, by its kind and tag.
pub(super) fn ioc_title_key(tag: &str, kind: IocKind) -> &'static str {
    let t = tag.to_ascii_lowercase();
    match kind {
        IocKind::DynDns => return "ioc.title.dyndns",
        IocKind::Tld => return "ioc.title.tld",
        IocKind::Cidr => return "ioc.title.cidr",
        _ => {}
    }
    if t.contains("stalkerware") {
        "ioc.title.stalkerware"
    } else if t.contains("pegasus") || t.contains("spyware") || t.contains("predator") {
        "ioc.title.spyware"
    } else if t.contains("tracker") {
        "ioc.title.tracker"
    } else if t.contains("suspect") {
        "ioc.title.suspect"
    } else {
        "ioc.title.malicious"
    }
}
