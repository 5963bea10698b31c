//! MLflow's JSON shapes for ironmage's records (protobuf-JSON: ids and versions as strings,
//! epoch milliseconds, empty lists left out).

use ironmage_core::store::{
    Experiment, KeyValue, LoggedModel, MetricPoint, ModelVersion, RegisteredModel, TrackingRun,
    TrackingRunInfo, VersionMeta,
};
use serde_json::{json, Map, Value};

pub fn pairs(items: &[KeyValue]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|kv| json!({"key": kv.key, "value": kv.value}))
            .collect(),
    )
}

/// Insert `key: value` unless `value` is an empty list.
fn put_list(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if value.as_array().is_some_and(|a| !a.is_empty()) {
        obj.insert(key.into(), value);
    }
}

pub fn experiment(e: &Experiment) -> Value {
    let mut obj = json!({
        "experiment_id": e.id.to_string(),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": e.last_update_time,
        "creation_time": e.creation_time,
    });
    put_list(obj.as_object_mut().expect("object"), "tags", pairs(&e.tags));
    obj
}

pub fn metric(m: &MetricPoint) -> Value {
    json!({"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step})
}

pub fn run_info(r: &TrackingRunInfo) -> Value {
    let mut obj = json!({
        "run_uuid": r.id,
        "run_id": r.id,
        "experiment_id": r.experiment_id.to_string(),
        "run_name": r.name,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "artifact_uri": r.artifact_uri(),
        "lifecycle_stage": r.lifecycle_stage,
    });
    if let Some(end) = r.end_time {
        obj["end_time"] = json!(end);
    }
    obj
}

pub fn run(r: &TrackingRun) -> Value {
    let mut data = Map::new();
    put_list(
        &mut data,
        "metrics",
        Value::Array(r.metrics.iter().map(metric).collect()),
    );
    put_list(&mut data, "params", pairs(&r.params));
    put_list(&mut data, "tags", pairs(&r.tags));
    let mut outputs = Map::new();
    put_list(
        &mut outputs,
        "model_outputs",
        Value::Array(
            r.outputs
                .iter()
                .map(|(id, step)| json!({"model_id": id, "step": step}))
                .collect(),
        ),
    );
    json!({"info": run_info(&r.info), "data": data, "inputs": {}, "outputs": outputs})
}

pub fn version(v: &ModelVersion, meta: &VersionMeta) -> Value {
    // A version a pipeline trained shows its MLflow model folder when it has one.
    let source = v
        .mlflow_source()
        .map(|s| s.source)
        .or_else(|| v.mlflow_folder().map(|f| f.source))
        .unwrap_or_else(|| format!("ironmage:/{}/{}", v.model, v.version));
    let created = v.creation_time();
    let mut obj = json!({
        "name": v.model,
        "version": v.version.to_string(),
        "creation_timestamp": created,
        "last_updated_timestamp": meta.last_update_time.unwrap_or(created).max(created),
        "current_stage": v.stage.as_str(),
        "description": meta.description,
        "source": source,
        "run_id": v.run_id.clone().unwrap_or_default(),
        "status": "READY",
        "run_link": "",
    });
    let map = obj.as_object_mut().expect("object");
    put_list(map, "tags", pairs(&meta.tags));
    put_list(map, "aliases", json!(meta.aliases));
    obj
}

pub fn registered_model(m: &RegisteredModel, latest: Vec<Value>) -> Value {
    let mut obj = json!({
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_update_time,
    });
    let map = obj.as_object_mut().expect("object");
    if !m.description.is_empty() {
        map.insert("description".into(), json!(m.description));
    }
    put_list(map, "latest_versions", Value::Array(latest));
    put_list(map, "tags", pairs(&m.tags));
    put_list(
        map,
        "aliases",
        Value::Array(
            m.aliases
                .iter()
                .map(|(a, v)| json!({"alias": a, "version": v.to_string()}))
                .collect(),
        ),
    );
    obj
}

pub fn logged_model(m: &LoggedModel) -> Value {
    let mut info = json!({
        "model_id": m.id,
        "experiment_id": m.experiment_id.to_string(),
        "name": m.name,
        "creation_timestamp_ms": m.creation_time,
        "last_updated_timestamp_ms": m.last_update_time,
        "artifact_uri": m.artifact_uri(),
        "status": m.status,
        "model_type": m.model_type,
    });
    let imap = info.as_object_mut().expect("object");
    if let Some(run) = &m.source_run_id {
        imap.insert("source_run_id".into(), json!(run));
    }
    put_list(imap, "tags", pairs(&m.tags));
    let mut data = Map::new();
    put_list(&mut data, "params", pairs(&m.params));
    put_list(
        &mut data,
        "metrics",
        Value::Array(
            m.metrics
                .iter()
                .map(|p| {
                    let mut v = metric(p);
                    v["model_id"] = json!(m.id);
                    if let Some(run) = &m.source_run_id {
                        v["run_id"] = json!(run);
                    }
                    v
                })
                .collect(),
        ),
    );
    json!({"info": info, "data": data})
}
