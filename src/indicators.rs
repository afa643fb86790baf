//! The indicators a run uses: the database's (`--db`, or the default database when it
//! exists), else the bundled feeds (`data/feeds/`, built into the binary, which also seed a
//! new database); none of them with `--no-default-iocs`; plus the files given with `--iocs`
//! and `--whitelist`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use tcheck_engine::ioc::import::{read, Format, Import};
use tcheck_engine::ioc::{Ioc, IocSet, Whitelist};

/// A bundled feed: its name, its bytes, the tag of indicators that carry none.
struct Bundled {
    name: &'static str,
    data: &'static [u8],
    default_tag: &'static str,
}

const BUNDLED: [Bundled; 5] = [
    Bundled {
        name: "tinycheck/iocs.json",
        data: include_bytes!("../data/feeds/tinycheck/iocs.json"),
        default_tag: "",
    },
    Bundled {
        name: "echap/network.csv",
        data: include_bytes!("../data/feeds/echap/network.csv"),
        default_tag: "stalkerware",
    },
    Bundled {
        name: "mvt/rcs.stix2",
        data: include_bytes!("../data/feeds/mvt/rcs.stix2"),
        default_tag: "",
    },
    Bundled {
        name: "mvt/eaglemsgspy.stix2",
        data: include_bytes!("../data/feeds/mvt/eaglemsgspy.stix2"),
        default_tag: "",
    },
    Bundled {
        name: "mvt/operation_triangulation.stix2",
        data: include_bytes!("../data/feeds/mvt/operation_triangulation.stix2"),
        default_tag: "",
    },
];

const BUNDLED_WHITELIST: Bundled = Bundled {
    name: "tinycheck/whitelist.json",
    data: include_bytes!("../data/feeds/tinycheck/whitelist.json"),
    default_tag: "",
};

/// What a run matches against.
#[derive(Debug, Default)]
pub struct Indicators {
    /// Indicators of compromise.
    pub iocs: std::sync::Arc<IocSet>,
    /// Whitelist.
    pub whitelist: Whitelist,
    /// Rules the feeds carry, as rule files (name, text).
    pub rules: Vec<(String, String)>,
}

/// Applies an import: its indicators, minus those its `to_delete` names.
fn apply(into: &mut Vec<Ioc>, rules: &mut Vec<(String, String)>, name: &str, import: Import) {
    let Import {
        iocs,
        to_delete,
        rules: feed_rules,
        ..
    } = import;
    into.extend(iocs);
    if !to_delete.is_empty() {
        let gone: std::collections::HashSet<String> = to_delete
            .iter()
            .map(|v| v.trim().to_ascii_lowercase())
            .collect();
        into.retain(|i| !gone.contains(&i.value));
    }
    if !feed_rules.is_empty() {
        let text: Vec<String> = feed_rules.into_iter().map(|(r, _)| r).collect();
        rules.push((format!("{name} (rules)"), text.join("\n")));
    }
}

fn read_file(path: &PathBuf, default_tag: &str) -> Result<Import> {
    let data = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let name = path.display().to_string();
    let format = Format::detect(&name, &data);
    Ok(read(format, &name, &data, default_tag)?)
}

/// Fills a new database with the bundled feeds, each under its name.
pub fn seed(store: &mut tcheck_store::Store) -> Result<()> {
    for b in &BUNDLED {
        let import = read(
            Format::detect(b.name, b.data),
            b.name,
            b.data,
            b.default_tag,
        )?;
        store.import(b.name, &import, false)?;
    }
    let b = &BUNDLED_WHITELIST;
    let import = read(Format::TinyCheckWhitelist, b.name, b.data, b.default_tag)?;
    store.import(b.name, &import, true)?;
    Ok(())
}

/// Loads the indicators: the database's (`db`, or the default database if it exists) or
/// else the bundled feeds, unless `no_default`; then `iocs` and `whitelists`. A file that
/// cannot be read or parsed stops the run with its name and place. Returns the store too,
/// when one was used.
pub fn load(
    no_default: bool,
    db: Option<&crate::db_cmd::DbArg>,
    iocs: &[PathBuf],
    whitelists: &[PathBuf],
) -> Result<(Indicators, Option<tcheck_store::Store>)> {
    let mut all = Vec::new();
    let mut rules = Vec::new();
    let mut white = Vec::new();
    let store = match db {
        Some(arg) if !no_default => {
            let explicit = arg.db.is_some();
            let exists = crate::db_cmd::default_db().is_some_and(|p| p.is_file());
            if explicit || exists {
                Some(arg.open()?)
            } else {
                None
            }
        }
        _ => None,
    };
    if let Some(s) = &store {
        all.extend(s.iocs(None, None, None)?);
        white.extend(s.whitelist()?);
        rules.extend(s.rules()?);
    } else if !no_default {
        for b in &BUNDLED {
            let format = Format::detect(b.name, b.data);
            let import = read(format, b.name, b.data, b.default_tag)?;
            apply(&mut all, &mut rules, b.name, import);
        }
        let b = &BUNDLED_WHITELIST;
        let import = read(Format::TinyCheckWhitelist, b.name, b.data, b.default_tag)?;
        white.extend(import.iocs);
    }
    for path in iocs {
        let import = read_file(path, "")?;
        apply(&mut all, &mut rules, &path.display().to_string(), import);
    }
    for path in whitelists {
        let import = read_file(path, "whitelist")?;
        if !import.rules.is_empty() {
            bail!("{}: a whitelist cannot hold rules", path.display());
        }
        white.extend(import.iocs);
    }
    Ok((
        Indicators {
            iocs: std::sync::Arc::new(IocSet::new(all)),
            whitelist: Whitelist::new(white),
            rules,
        },
        store,
    ))
}
