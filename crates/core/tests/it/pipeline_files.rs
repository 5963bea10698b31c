//! Pipeline files: the demo is valid, and every kind of mistake is an error that names the
//! pipeline, the block and the field.

use ironmage_core::pipeline::spec::parse;

const DEMO: &str = include_str!("../../../../project/pipelines/demo_mlops/pipeline.yaml");

fn error_of(yaml: &str) -> String {
    match parse("p", "pipelines/p/pipeline.yaml", yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn demo_error_of(yaml: &str) -> String {
    match parse("demo_mlops", "pipelines/demo_mlops/pipeline.yaml", yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[test]
fn the_demo_pipeline_is_valid_and_ordered() {
    let p = parse("demo_mlops", "pipelines/demo_mlops/pipeline.yaml", DEMO).unwrap();
    let names: Vec<&str> = p.blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "make_dataset",
            "preprocessing",
            "training",
            "registry",
            "deployment"
        ]
    );
    assert!(p.file_hash.starts_with("sha256:"));
}

#[test]
fn blocks_are_ordered_topologically_whatever_the_file_order() {
    let yaml = "blocks:\n- {name: train, kind: random_forest_classifier, upstream: [prep]}\n- {name: prep, kind: preprocess, upstream: [data]}\n- {name: data, kind: synthetic_churn}\n";
    let p = parse("p", "f", yaml).unwrap();
    let names: Vec<&str> = p.blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["data", "prep", "train"]);
}

#[test]
fn an_unknown_block_kind_names_pipeline_block_and_field() {
    let m = error_of("blocks:\n- {name: data, kind: magic_loader}\n");
    assert_mentions(
        &m,
        &[
            "pipeline p",
            "block data",
            "field kind",
            "magic_loader",
            "synthetic_churn",
        ],
    );
}

#[test]
fn a_cycle_is_reported_with_its_blocks() {
    let m = error_of("blocks:\n- {name: a, kind: preprocess, upstream: [b]}\n- {name: b, kind: preprocess, upstream: [a]}\n");
    assert_mentions(&m, &["pipeline p", "cycle", "\"a\"", "\"b\""]);
}

#[test]
fn a_missing_upstream_is_named() {
    let m = error_of("blocks:\n- {name: prep, kind: preprocess, upstream: [ghost]}\n");
    assert_mentions(&m, &["pipeline p", "block prep", "field upstream", "ghost"]);
}

#[test]
fn a_self_dependency_is_refused() {
    let m = error_of("blocks:\n- {name: a, kind: preprocess, upstream: [a]}\n");
    assert_mentions(&m, &["block a", "itself"]);
}

#[test]
fn a_bad_config_value_names_the_field() {
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn, config: {rows: many}}\n");
    assert_mentions(
        &m,
        &["pipeline p", "block data", "config.rows", "invalid type"],
    );
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn, config: {churn_rate: 2.0}}\n");
    assert_mentions(&m, &["block data", "churn_rate", "between 0 and 1"]);
    let m = demo_error_of(&DEMO.replace("max_depth: 10", "max_depth: -3"));
    assert_mentions(&m, &["block training", "config.max_depth"]);
    let m = demo_error_of(&DEMO.replace("test_size: 0.2", "test_size: 1.5"));
    assert_mentions(&m, &["block preprocessing", "config.test_size"]);
}

#[test]
fn an_unknown_config_field_is_named() {
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn, config: {rowz: 5}}\n");
    assert_mentions(&m, &["block data", "rowz"]);
}

#[test]
fn an_unknown_top_level_field_is_named() {
    let m = error_of("blokcs: []\n");
    assert_mentions(&m, &["pipeline p", "blokcs"]);
}

#[test]
fn an_undefined_variable_is_named() {
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn, config: {seed: '${sed}'}}\n");
    assert_mentions(
        &m,
        &["block data", "config.seed", "undefined variable", "sed"],
    );
}

#[test]
fn mismatched_ports_are_explained() {
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn}\n- {name: reg, kind: register_model, upstream: [data], config: {model: m}}\n");
    assert_mentions(
        &m,
        &[
            "block reg",
            "field upstream",
            "register_model",
            "Trained",
            "Dataset",
        ],
    );
}

#[test]
fn a_python_block_gives_a_model_to_the_blocks_that_take_one() {
    use ironmage_core::pipeline::blocks::Port;
    let file = "pipelines/python_churn/pipeline.yaml";
    let text = include_str!("../../../../project/pipelines/python_churn/pipeline.yaml");
    let p = parse("python_churn", file, text).unwrap();
    let port = |name: &str| p.output_port(p.block(name).unwrap());
    assert_eq!(port("make_dataset"), Port::Dataset);
    assert_eq!(port("preprocessing"), Port::Dataset);
    assert_eq!(port("training"), Port::Trained);
    // A model block feeds model blocks only: a table block after it is refused.
    let m = error_of("blocks:\n- {name: data, kind: synthetic_churn}\n- {name: fit, kind: python, upstream: [data], config: {file: f.py}}\n- {name: reg, kind: register_model, upstream: [fit], config: {model: m}}\n- {name: more, kind: python, upstream: [fit], config: {file: g.py}}\n");
    assert_mentions(&m, &["block more", "field upstream", "Trained"]);
}

#[test]
fn duplicate_block_names_and_bad_names_are_refused() {
    let m = error_of(
        "blocks:\n- {name: a, kind: synthetic_churn}\n- {name: a, kind: synthetic_churn}\n",
    );
    assert_mentions(&m, &["block a", "same name"]);
    let m = error_of("blocks:\n- {name: 'Bad Name', kind: synthetic_churn}\n");
    assert_mentions(&m, &["Bad Name"]);
    let m = error_of("name: other\nblocks:\n- {name: a, kind: synthetic_churn}\n");
    assert_mentions(&m, &["field name", "other"]);
    let m = error_of("blocks: []\n");
    assert_mentions(&m, &["at least one block"]);
}

#[test]
fn a_bad_model_name_is_refused() {
    let m = demo_error_of(&DEMO.replace("model: churn", "model: '../evil'"));
    assert_mentions(&m, &["block registry", "config.model"]);
}

#[test]
fn run_variables_are_checked_against_the_pipeline() {
    let p = parse("demo_mlops", "f", DEMO).unwrap();
    let mut vars = serde_json::Map::new();
    vars.insert("seed".into(), serde_json::json!("not a number"));
    let e = p.resolve_configs(&vars).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("variables.seed"));
    assert_mentions(&e.to_string(), &["block make_dataset", "config.seed"]);
    let mut vars = serde_json::Map::new();
    vars.insert("colour".into(), serde_json::json!(1));
    let e = p.resolve_configs(&vars).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("variables.colour"));
}

#[test]
fn conditions_timeouts_and_concurrency_are_checked_at_load() {
    let ok = "variables: {deploy: true}\nconcurrency: 2\nmax_concurrent_runs: 1\nblocks:\n- {name: a, kind: noop}\n- {name: b, kind: noop, upstream: [a], timeout_secs: 1.5, when: \"variables.deploy and a.rows != 0\"}\n";
    let p = parse("p", "f", ok).unwrap();
    assert_eq!(p.concurrency, 2);
    assert_eq!(p.max_concurrent_runs, Some(1));
    assert_eq!(
        p.blocks[1].timeout,
        Some(std::time::Duration::from_millis(1500))
    );
    assert!(p.blocks[1].when.is_some());

    let m = error_of(
        "blocks:\n- {name: a, kind: noop}\n- {name: b, kind: noop, when: \"a.rows > 0\"}\n",
    );
    assert_mentions(
        &m,
        &["block b", "field when", "\"a.rows\"", "upstream of b"],
    );
    let m = error_of("blocks:\n- {name: a, kind: noop, when: \"variables.nope\"}\n");
    assert_mentions(&m, &["block a", "field when", "variables.nope"]);
    let m = error_of("blocks:\n- {name: a, kind: noop, when: \"variables.x = 1\"}\n");
    assert_mentions(&m, &["block a", "field when", "use == or !="]);
    let m = error_of("blocks:\n- {name: a, kind: noop, timeout_secs: 0}\n");
    assert_mentions(&m, &["block a", "field timeout_secs"]);
    let m = error_of("concurrency: 0\nblocks:\n- {name: a, kind: noop}\n");
    assert_mentions(&m, &["field concurrency"]);
    let m = error_of("max_concurrent_runs: 0\nblocks:\n- {name: a, kind: noop}\n");
    assert_mentions(&m, &["field max_concurrent_runs"]);
}

#[test]
fn noop_takes_any_upstream_blocks() {
    let yaml = "blocks:\n- {name: data, kind: synthetic_churn}\n- {name: other, kind: noop}\n- {name: join, kind: noop, upstream: [data, other]}\n";
    assert!(parse("p", "f", yaml).is_ok());
}
