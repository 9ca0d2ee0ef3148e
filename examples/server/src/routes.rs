//! The routing table: which handler serves a method and path.
//!
//! Owns [`Table`] (built whole from the plugins currently serving, then swapped
//! in at once, so a request sees either the old table or the new one) and the
//! mounting rules: built-in routes first, then each plugin's routes in file
//! name order; a route already taken is refused with a warning. A mounted
//! plugin route holds an `Arc` of the plugin version it belongs to, and so
//! does every request it serves: a replaced version is unloaded only when the
//! last of them is gone. It does not load plugins (`plugins.rs`) or answer requests
//! (`dispatch.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::plugins::{Loaded, Status};

/// Routes compiled into the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `GET /`: what is mounted, as text.
    Index,
    /// `GET /builtin/ping`: `pong`, the baseline for measuring plugin calls.
    Ping,
    /// `GET /builtin/plugins`: every plugin file and its state, as JSON.
    Plugins,
    /// `GET /builtin/workers`: the worker processes and their restarts (or
    /// the threads), as JSON.
    Workers,
}

const BUILTINS: &[(&str, &str, Builtin)] = &[
    ("GET", "/", Builtin::Index),
    ("GET", "/builtin/ping", Builtin::Ping),
    ("GET", "/builtin/plugins", Builtin::Plugins),
    ("GET", "/builtin/workers", Builtin::Workers),
];

/// What serves a route.
#[derive(Clone)]
pub enum Target {
    Builtin(Builtin),
    Plugin {
        /// The plugin version; cloned by each request it serves.
        version: Arc<Loaded>,
        /// The handler export's name.
        handler: Arc<str>,
    },
}

/// A routing table.
#[derive(Default)]
pub struct Table {
    /// Path, then method.
    routes: HashMap<String, Vec<(String, Target)>>,
    /// `METHOD path -> target` in mounting order, for the index.
    listing: Vec<String>,
    /// Every plugin file, in name order.
    pub plugins: Vec<Status>,
}

/// The result of a lookup.
pub enum Lookup<'t> {
    Found(&'t Target),
    /// The path exists with other methods (for `405` and `Allow`).
    WrongMethod(Vec<&'t str>),
    NotFound,
}

impl Table {
    /// The table for these plugin files (in name order): built-in routes, then
    /// each serving plugin's routes. Conflicts are logged and refused.
    pub fn build(plugins: Vec<Status>) -> Table {
        let mut table = Table::default();
        for &(method, path, builtin) in BUILTINS {
            table.mount(method, path, Target::Builtin(builtin), "built-in");
        }
        for status in &plugins {
            let Some(version) = &status.serving else {
                continue;
            };
            for route in version.routes() {
                let target = Target::Plugin {
                    version: version.clone(),
                    handler: Arc::from(route.handler()),
                };
                let owner = format!("{} {} ({})", version.name(), version.version(), status.file);
                table.mount(route.method(), route.path(), target, &owner);
            }
        }
        table.plugins = plugins;
        table
    }

    fn mount(&mut self, method: &str, path: &str, target: Target, owner: &str) {
        let methods = self.routes.entry(path.to_owned()).or_default();
        if let Some((_, taken)) = methods.iter().find(|(m, _)| m == method) {
            log::warn!(
                "{owner}: route {method} {path} is already served by {}; not mounted",
                describe(taken)
            );
            return;
        }
        methods.push((method.to_owned(), target));
        self.listing.push(format!("{method} {path} -> {owner}"));
    }

    /// What serves `method` `path` (both compared exactly).
    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_> {
        let Some(methods) = self.routes.get(path) else {
            return Lookup::NotFound;
        };
        match methods.iter().find(|(m, _)| m == method) {
            Some((_, target)) => Lookup::Found(target),
            None => Lookup::WrongMethod(methods.iter().map(|(m, _)| m.as_str()).collect()),
        }
    }

    /// `METHOD path -> owner` for every mounted route, in mounting order.
    pub fn listing(&self) -> &[String] {
        &self.listing
    }

    /// How many plugin routes are mounted.
    pub fn plugin_routes(&self) -> usize {
        self.routes
            .values()
            .flatten()
            .filter(|(_, t)| matches!(t, Target::Plugin { .. }))
            .count()
    }
}

fn describe(target: &Target) -> String {
    match target {
        Target::Builtin(_) => "the server itself".to_owned(),
        Target::Plugin { version, .. } => {
            format!("{} {}", version.name(), version.version())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_mounted_and_methods_checked() {
        let table = Table::build(Vec::new());
        assert!(matches!(
            table.lookup("GET", "/builtin/ping"),
            Lookup::Found(Target::Builtin(Builtin::Ping))
        ));
        match table.lookup("POST", "/builtin/ping") {
            Lookup::WrongMethod(allowed) => assert_eq!(allowed, ["GET"]),
            _ => panic!("expected a method mismatch"),
        }
        assert!(matches!(table.lookup("GET", "/nope"), Lookup::NotFound));
        assert_eq!(table.plugin_routes(), 0);
    }
}
