//! What a crate ships with: its normal-dependency closure from `cargo
//! metadata`, on every platform. Build and dev dependencies and proc macros
//! run at build time and ship nothing, so they are left out.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

/// One crate in the closure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shipped {
    pub name: String,
    pub version: String,
    /// The SPDX expression from its manifest, if it has one.
    pub licence: Option<String>,
    /// A crate of this workspace rather than one from a registry.
    pub ours: bool,
}

/// The closure of `root`, a package of the workspace whose manifest is
/// `manifest` (read when the test runs: the build cache is shared between
/// checkouts in different folders), `root` included.
pub fn shipped_with(manifest: &Path, root: &str) -> Vec<Shipped> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages: HashMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let start = packages
        .values()
        .find(|p| p["name"] == root)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("{root} is not in the workspace"));
    let proc_macro = |p: &Value| {
        p["targets"].as_array().into_iter().flatten().any(|t| {
            t["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k == "proc-macro")
        })
    };
    let mut seen = BTreeSet::from([start]);
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            // A "normal" edge has kind null; it may also be a build or dev edge.
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            if normal && !proc_macro(packages[dep_id]) && seen.insert(dep_id) {
                todo.push(dep_id);
            }
        }
    }
    seen.into_iter()
        .map(|id| {
            let p = packages[id];
            Shipped {
                name: p["name"].as_str().unwrap_or("?").to_string(),
                version: p["version"].as_str().unwrap_or("?").to_string(),
                licence: p["license"].as_str().map(str::to_string),
                ours: p["source"].is_null(),
            }
        })
        .collect()
}
