//! No two files of the crate import each other, directly or through others: a file of shared
//! types sits below the files that use it, and a concept is never split across a cycle.
//!
//! Files name each other's items by `crate::` paths (`super::` only reaches a file's own test
//! module), so an import is a `crate::<file>` path outside a comment; `crate::<item>` and
//! `crate::*` go through the crate root's re-exports, which import their files in turn.

use std::collections::{BTreeMap, BTreeSet};

/// Each file's stem and the stems of the files it imports (`lib` for the crate root).
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut texts = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            texts.insert(stem, std::fs::read_to_string(&path).unwrap());
        }
    }
    let mut graph = BTreeMap::new();
    for (file, text) in &texts {
        let mut imports = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let target = if texts.contains_key(&name) {
                    name
                } else {
                    "lib".into()
                };
                if &target != file {
                    imports.insert(target);
                }
            }
        }
        graph.insert(file.clone(), imports);
    }
    graph
}

/// Every cycle a depth-first search closes, as the files along it.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit<'a>(
        file: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(start) = path.iter().position(|f| *f == file) {
            let mut cycle: Vec<String> = path[start..].iter().map(|f| f.to_string()).collect();
            cycle.push(file.to_string());
            found.push(cycle);
            return;
        }
        if !done.insert(file) {
            return;
        }
        path.push(file);
        for next in graph.get(file).into_iter().flatten() {
            visit(next, graph, path, done, found);
        }
        path.pop();
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for file in graph.keys() {
        visit(file, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn files_import_each_other_without_cycles() {
    let graph = import_graph();
    assert!(graph.len() > 20, "read {} files", graph.len());
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
}

#[test]
fn a_cycle_is_found() {
    let edge = |a: &str, b: &str| (a.to_string(), BTreeSet::from([b.to_string()]));
    let graph = BTreeMap::from([edge("a", "b"), edge("b", "c"), edge("c", "a")]);
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c", "a"]]);
}
