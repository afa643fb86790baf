//! The report's words (English). Titles avoid jargon; the technical detail goes in the
//! description. Kept in one place so that translations can replace them.

use super::Level;

/// The verdict sentence for the highest level found.
pub(super) fn verdict(top: Option<Level>) -> &'static str {
    match top {
        Some(Level::High) => {
            "Your phone contacted servers linked to stalkerware, spyware or another known threat. \
             Read the alerts below before changing anything on the phone."
        }
        Some(Level::Moderate) => {
            "Some of your phone's traffic is unusual and deserves a closer look, but nothing \
             known to belong to stalkerware or spyware was seen."
        }
        Some(Level::Low) => {
            "Nothing linked to stalkerware or spyware was seen. A few minor points are listed \
             below; they are common in normal traffic."
        }
        None => "Nothing suspicious was found in this capture.",
    }
}

/// What a high-level finding means and what to do.
pub(super) const ADVICE_HIGH: &str = "This is a strong sign that a monitoring app may be \
    installed on the phone, or that the phone is in contact with a known threat. Before \
    removing anything, consider talking to a specialist support organisation: removing \
    stalkerware can alert the person who installed it, and the evidence may matter to you.";

/// What a moderate finding means.
pub(super) const ADVICE_MODERATE: &str = "On its own this does not prove anything is wrong; \
    together with other signs it deserves a closer look by someone you trust.";

/// What a low finding means.
pub(super) const ADVICE_LOW: &str = "This is common in normal traffic and is listed for \
    completeness.";

/// A limit every report states.
pub(super) const LIMIT_CAPTURE: &str = "Only the traffic captured is analysed: an app that \
    stayed silent during the capture, or that used another network, cannot be seen.";

/// What a DNS-only analysis cannot see.
pub(super) const LIMIT_DNS_ONLY: &str = "This analysis only saw the phone's DNS look-ups (a DNS \
    service's query log), not its traffic: connections made without a look-up, the data \
    exchanged, certificates and everything the heuristics on traffic look at cannot be \
    checked. A capture through a tcheck access point sees all of it.";

/// Entries not kept.
pub(super) const LIMIT_DROPPED: &str = "names or hosts were not kept because the capture \
    held more than the analysis keeps; they were not checked.";

/// The plain-words title of an indicator match, by its tag.
pub(super) fn ioc_title(tag: &str, kind: crate::ioc::IocKind) -> String {
    use crate::ioc::IocKind;
    let t = tag.to_ascii_lowercase();
    match kind {
        IocKind::DynDns => return "The phone used a dynamic DNS name".into(),
        IocKind::Tld => return "The phone contacted a name under an often-abused ending".into(),
        IocKind::Cidr => return "The phone connected to a suspicious network".into(),
        _ => {}
    }
    if t.contains("stalkerware") {
        "The phone contacted a server used by stalkerware".into()
    } else if t.contains("pegasus") || t.contains("spyware") || t.contains("predator") {
        "The phone contacted a server used by spyware".into()
    } else if t.contains("tracker") {
        "The phone contacted a tracking service".into()
    } else if t.contains("suspect") {
        "The phone contacted a suspicious server".into()
    } else {
        "The phone contacted a server known to be malicious".into()
    }
}
