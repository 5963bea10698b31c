//! Example bodies of the web API's OpenAPI document that are too long to read inline in a
//! handler's `#[utoipa::path]`: real answers of the demo project (`ironmage demo`).
//! JSON text rather than `json!`: large literals exceed the macro's recursion limit and slow
//! the build; a broken one fails `tests/openapi.rs`, which renders the document.

use serde_json::Value;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("an example is valid JSON")
}

pub fn list_pipelines_200_ok() -> Value {
    parse(
        r#"{
    "errors": [],
    "pipelines": [
        {
            "blocks": [
                {
                    "kind": "synthetic_churn",
                    "name": "make_dataset",
                    "retries": 0,
                    "upstream": []
                },
                {
                    "kind": "preprocess",
                    "name": "preprocessing",
                    "retries": 0,
                    "upstream": [
                        "make_dataset"
                    ]
                },
                {
                    "kind": "random_forest_classifier",
                    "name": "training",
                    "retries": 0,
                    "upstream": [
                        "preprocessing"
                    ]
                },
                {
                    "kind": "register_model",
                    "name": "registry",
                    "retries": 0,
                    "upstream": [
                        "training"
                    ]
                },
                {
                    "kind": "deploy",
                    "name": "deployment",
                    "retries": 0,
                    "upstream": [
                        "registry"
                    ]
                }
            ],
            "description": "Train a churn classifier on versioned customer data, register it, and deploy it behind a validation gate.",
            "file": "pipelines/demo_mlops/pipeline.yaml",
            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
            "name": "demo_mlops",
            "variables": {
                "min_auc": 0.75,
                "rows": 1000,
                "seed": 42
            }
        }
    ]
}"#,
    )
}

pub fn list_pipelines_200_broken() -> Value {
    parse(
        r#"{
    "pipelines": [
        {
            "blocks": [
                {
                    "kind": "synthetic_churn",
                    "name": "make_dataset",
                    "retries": 0,
                    "upstream": []
                },
                {
                    "kind": "preprocess",
                    "name": "preprocessing",
                    "retries": 0,
                    "upstream": [
                        "make_dataset"
                    ]
                },
                {
                    "kind": "random_forest_classifier",
                    "name": "training",
                    "retries": 0,
                    "upstream": [
                        "preprocessing"
                    ]
                },
                {
                    "kind": "register_model",
                    "name": "registry",
                    "retries": 0,
                    "upstream": [
                        "training"
                    ]
                },
                {
                    "kind": "deploy",
                    "name": "deployment",
                    "retries": 0,
                    "upstream": [
                        "registry"
                    ]
                }
            ],
            "description": "Train a churn classifier on versioned customer data, register it, and deploy it behind a validation gate.",
            "file": "pipelines/demo_mlops/pipeline.yaml",
            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
            "name": "demo_mlops",
            "variables": {
                "min_auc": 0.75,
                "rows": 1000,
                "seed": 42
            }
        }
    ],
    "errors": [
        {
            "name": "t_unknown_kind",
            "error": "pipeline t_unknown_kind: block data: field kind: unknown block kind \"csv_loader\" (known: synthetic_churn, preprocess, random_forest_classifier, register_model, deploy)"
        }
    ]
}"#,
    )
}

pub fn get_pipeline_200() -> Value {
    parse(
        r#"{
    "blocks": [
        {
            "kind": "synthetic_churn",
            "name": "make_dataset",
            "retries": 0,
            "upstream": []
        },
        {
            "kind": "preprocess",
            "name": "preprocessing",
            "retries": 0,
            "upstream": [
                "make_dataset"
            ]
        },
        {
            "kind": "random_forest_classifier",
            "name": "training",
            "retries": 0,
            "upstream": [
                "preprocessing"
            ]
        },
        {
            "kind": "register_model",
            "name": "registry",
            "retries": 0,
            "upstream": [
                "training"
            ]
        },
        {
            "kind": "deploy",
            "name": "deployment",
            "retries": 0,
            "upstream": [
                "registry"
            ]
        }
    ],
    "description": "Train a churn classifier on versioned customer data, register it, and deploy it behind a validation gate.",
    "file": "pipelines/demo_mlops/pipeline.yaml",
    "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
    "name": "demo_mlops",
    "variables": {
        "min_auc": 0.75,
        "rows": 1000,
        "seed": 42
    }
}"#,
    )
}

pub fn trigger_run_400_bad_value_type() -> Value {
    parse(
        r#"{
    "code": "invalid_input",
    "field": "variables.rows",
    "message": "variables.rows: pipeline demo_mlops: block make_dataset: field config.rows: invalid type: string \"many\", expected usize",
    "type": "invalid_request"
}"#,
    )
}

pub fn trigger_run_400_bad_value_range() -> Value {
    parse(
        r#"{
    "code": "invalid_input",
    "field": "variables.rows",
    "message": "variables.rows: pipeline demo_mlops: block make_dataset: field config.rows: must be between 10 and 10000000",
    "type": "invalid_request"
}"#,
    )
}

pub fn list_runs_200() -> Value {
    parse(
        r#"{
    "runs": [
        {
            "blocks": [
                {
                    "attempts": 1,
                    "block": "make_dataset",
                    "ended_at": "2026-11-23T18:38:33.472Z",
                    "error": null,
                    "kind": "synthetic_churn",
                    "position": 0,
                    "started_at": "2026-11-23T18:38:33.451Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "preprocessing",
                    "ended_at": "2026-11-23T18:38:33.480Z",
                    "error": null,
                    "kind": "preprocess",
                    "position": 1,
                    "started_at": "2026-11-23T18:38:33.473Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "training",
                    "ended_at": "2026-11-23T18:38:33.695Z",
                    "error": null,
                    "kind": "random_forest_classifier",
                    "position": 2,
                    "started_at": "2026-11-23T18:38:33.482Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "registry",
                    "ended_at": "2026-11-23T18:38:33.712Z",
                    "error": null,
                    "kind": "register_model",
                    "position": 3,
                    "started_at": "2026-11-23T18:38:33.695Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "deployment",
                    "ended_at": "2026-11-23T18:38:33.714Z",
                    "error": null,
                    "kind": "deploy",
                    "position": 4,
                    "started_at": "2026-11-23T18:38:33.712Z",
                    "status": "success"
                }
            ],
            "created_at": "2026-11-23T18:38:33.446Z",
            "ended_at": "2026-11-23T18:38:33.714Z",
            "error": null,
            "heartbeat_at": "2026-11-23T18:38:33.447Z",
            "holder": "executor-local-3122-0",
            "id": "1557d247dc3f42b880d6272216198066",
            "pipeline": "demo_mlops",
            "started_at": "2026-11-23T18:38:33.447Z",
            "status": "success",
            "summary": {
                "data_hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                "data_version": "data_v_20261123_183833_2",
                "deployment": {
                    "reason": "auc_score 0.8883 >= 0.75",
                    "status": "deployed"
                },
                "metrics": {
                    "accuracy": 0.83,
                    "auc_score": 0.8882747729964469,
                    "f1_score": 0.5641025641025641,
                    "precision": 0.8148148148148148,
                    "recall": 0.43137254901960786
                },
                "model": "churn",
                "model_version": "v_20261123_183833_2",
                "model_version_number": 2
            },
            "trigger": "api",
            "variables": {
                "min_auc": 0.75,
                "rows": 1000,
                "seed": 7
            }
        },
        {
            "blocks": [
                {
                    "attempts": 1,
                    "block": "make_dataset",
                    "ended_at": "2026-11-23T18:38:33.096Z",
                    "error": null,
                    "kind": "synthetic_churn",
                    "position": 0,
                    "started_at": "2026-11-23T18:38:33.081Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "preprocessing",
                    "ended_at": "2026-11-23T18:38:33.103Z",
                    "error": null,
                    "kind": "preprocess",
                    "position": 1,
                    "started_at": "2026-11-23T18:38:33.097Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "training",
                    "ended_at": "2026-11-23T18:38:33.331Z",
                    "error": null,
                    "kind": "random_forest_classifier",
                    "position": 2,
                    "started_at": "2026-11-23T18:38:33.104Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "registry",
                    "ended_at": "2026-11-23T18:38:33.345Z",
                    "error": null,
                    "kind": "register_model",
                    "position": 3,
                    "started_at": "2026-11-23T18:38:33.332Z",
                    "status": "success"
                },
                {
                    "attempts": 1,
                    "block": "deployment",
                    "ended_at": "2026-11-23T18:38:33.346Z",
                    "error": null,
                    "kind": "deploy",
                    "position": 4,
                    "started_at": "2026-11-23T18:38:33.345Z",
                    "status": "success"
                }
            ],
            "created_at": "2026-11-23T18:38:33.080Z",
            "ended_at": "2026-11-23T18:38:33.347Z",
            "error": null,
            "heartbeat_at": "2026-11-23T18:38:33.081Z",
            "holder": "executor-local-3122-1",
            "id": "4971c84c8b9b45df8fa5322ea8e8d8d7",
            "pipeline": "demo_mlops",
            "started_at": "2026-11-23T18:38:33.081Z",
            "status": "success",
            "summary": {
                "data_hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                "data_version": "data_v_20261123_183833",
                "deployment": {
                    "reason": "auc_score 0.8624 >= 0.75",
                    "status": "deployed"
                },
                "metrics": {
                    "accuracy": 0.825,
                    "auc_score": 0.8623960498960499,
                    "f1_score": 0.5569620253164557,
                    "precision": 0.8148148148148148,
                    "recall": 0.4230769230769231
                },
                "model": "churn",
                "model_version": "v_20261123_183833",
                "model_version_number": 1
            },
            "trigger": "demo",
            "variables": {
                "min_auc": 0.75,
                "rows": 1000,
                "seed": 42
            }
        }
    ]
}"#,
    )
}

pub fn get_run_200_success() -> Value {
    parse(
        r#"{
    "id": "1557d247dc3f42b880d6272216198066",
    "pipeline": "demo_mlops",
    "trigger": "api",
    "variables": {
        "min_auc": 0.75,
        "rows": 1000,
        "seed": 7
    },
    "status": "success",
    "holder": "executor-local-3122-0",
    "heartbeat_at": "2026-11-23T18:38:33.447Z",
    "created_at": "2026-11-23T18:38:33.446Z",
    "started_at": "2026-11-23T18:38:33.447Z",
    "ended_at": "2026-11-23T18:38:33.714Z",
    "error": null,
    "summary": {
        "data_hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
        "data_version": "data_v_20261123_183833_2",
        "deployment": {
            "reason": "auc_score 0.8883 >= 0.75",
            "status": "deployed"
        },
        "metrics": {
            "accuracy": 0.83,
            "auc_score": 0.8882747729964469,
            "f1_score": 0.5641025641025641,
            "precision": 0.8148148148148148,
            "recall": 0.43137254901960786
        },
        "model": "churn",
        "model_version": "v_20261123_183833_2",
        "model_version_number": 2
    },
    "blocks": [
        {
            "block": "make_dataset",
            "position": 0,
            "kind": "synthetic_churn",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:33.451Z",
            "ended_at": "2026-11-23T18:38:33.472Z",
            "error": null,
            "logs": [
                "✅ Loaded 1000 records",
                "   Data Version: data_v_20261123_183833_2",
                "   Data Hash: sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                "   churn rate: 25.40%",
                "   Shape: (1000, 11)"
            ],
            "preview": {
                "rows": [
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 43.5,
                        "num_services": 1.0,
                        "payment_method_score": 0.92,
                        "satisfaction_score": 0.03,
                        "support_tickets": 5.0,
                        "total_charges": 43.29,
                        "usage_frequency": 0.72
                    },
                    {
                        "account_age": 1.0,
                        "churn": 0,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 45.08,
                        "num_services": 2.0,
                        "payment_method_score": 0.2,
                        "satisfaction_score": 0.38,
                        "support_tickets": 3.0,
                        "total_charges": 47.52,
                        "usage_frequency": 0.52
                    },
                    {
                        "account_age": 1.0,
                        "churn": 0,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 46.13,
                        "num_services": 3.0,
                        "payment_method_score": 0.88,
                        "satisfaction_score": 0.37,
                        "support_tickets": 1.0,
                        "total_charges": 47.91,
                        "usage_frequency": 0.75
                    },
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 68.75,
                        "num_services": 6.0,
                        "payment_method_score": 0.19,
                        "satisfaction_score": 0.34,
                        "support_tickets": 3.0,
                        "total_charges": 73.62,
                        "usage_frequency": 0.56
                    },
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 73.6,
                        "num_services": 3.0,
                        "payment_method_score": 0.16,
                        "satisfaction_score": 0.73,
                        "support_tickets": 3.0,
                        "total_charges": 80.62,
                        "usage_frequency": 0.78
                    }
                ],
                "schema": [
                    {
                        "missing": 0,
                        "name": "account_age",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "contract_length",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "customer_service_calls",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "monthly_charges",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "num_services",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "payment_method_score",
                        "type": "float"
                    },
                    {
                        "missing": 17,
                        "name": "satisfaction_score",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "support_tickets",
                        "type": "float"
                    },
                    {
                        "missing": 30,
                        "name": "total_charges",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "usage_frequency",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "churn",
                        "type": "label"
                    }
                ],
                "stats": {
                    "data_version": "data_v_20261123_183833_2",
                    "feature_count": 10,
                    "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                    "label_rate": 0.254,
                    "reused": false,
                    "row_count": 1000
                }
            }
        },
        {
            "block": "preprocessing",
            "position": 1,
            "kind": "preprocess",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:33.473Z",
            "ended_at": "2026-11-23T18:38:33.480Z",
            "error": null,
            "logs": [
                "✅ Split 1000 rows into 800 train / 200 test (stratified, seed 42)",
                "   Imputed 47 missing values with training medians",
                "   Scaled features with a StandardScaler fitted on the training part"
            ],
            "preview": {
                "schema": [
                    {
                        "mean": 35.5325,
                        "median": 34.0,
                        "name": "account_age",
                        "scale": 20.943112083689993
                    },
                    {
                        "mean": 9.7325,
                        "median": 12.0,
                        "name": "contract_length",
                        "scale": 8.335523003987207
                    },
                    {
                        "mean": 1.44375,
                        "median": 1.0,
                        "name": "customer_service_calls",
                        "scale": 1.870651206799382
                    },
                    {
                        "mean": 64.26644999999992,
                        "median": 64.455,
                        "name": "monthly_charges",
                        "scale": 20.785764002015895
                    },
                    {
                        "mean": 3.5075,
                        "median": 3.0,
                        "name": "num_services",
                        "scale": 1.732756113825601
                    },
                    {
                        "mean": 0.49036249999999976,
                        "median": 0.48,
                        "name": "payment_method_score",
                        "scale": 0.28545970572700835
                    },
                    {
                        "mean": 0.5033249999999991,
                        "median": 0.51,
                        "name": "satisfaction_score",
                        "scale": 0.28367797654206434
                    },
                    {
                        "mean": 2.51,
                        "median": 2.0,
                        "name": "support_tickets",
                        "scale": 1.7327434893832336
                    },
                    {
                        "mean": 2277.4822749999994,
                        "median": 2010.92,
                        "name": "total_charges",
                        "scale": 1600.5093568448988
                    },
                    {
                        "mean": 0.4792875000000002,
                        "median": 0.47,
                        "name": "usage_frequency",
                        "scale": 0.2870520289838585
                    }
                ],
                "stats": {
                    "test_label_rate": 0.255,
                    "test_rows": 200,
                    "train_label_rate": 0.25375,
                    "train_rows": 800
                }
            }
        },
        {
            "block": "training",
            "position": 2,
            "kind": "random_forest_classifier",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:33.482Z",
            "ended_at": "2026-11-23T18:38:33.695Z",
            "error": null,
            "logs": [
                "✅ Model trained successfully!",
                "   Trained on 800 samples, tested on 200",
                "   Accuracy: 0.8300",
                "   AUC Score: 0.8883",
                "   Precision 0.8148 / Recall 0.4314 / F1 0.5641",
                "   Top 3 features: [satisfaction_score, customer_service_calls, account_age]"
            ],
            "preview": {
                "hyperparameters": {
                    "bootstrap": true,
                    "max_depth": 10,
                    "max_features": "sqrt",
                    "min_samples_leaf": 1,
                    "min_samples_split": 2,
                    "n_estimators": 100,
                    "random_state": 42,
                    "threshold": 0.5
                },
                "metrics": {
                    "accuracy": 0.83,
                    "auc_score": 0.8882747729964469,
                    "f1_score": 0.5641025641025641,
                    "feature_importance": {
                        "account_age": 0.14312276756537634,
                        "contract_length": 0.05005500112836099,
                        "customer_service_calls": 0.1552619284693922,
                        "monthly_charges": 0.10880367585232238,
                        "num_services": 0.04265636739297098,
                        "payment_method_score": 0.0794754659018143,
                        "satisfaction_score": 0.1555240929223685,
                        "support_tickets": 0.0540331197296738,
                        "total_charges": 0.1100534018601659,
                        "usage_frequency": 0.1010141791775548
                    },
                    "precision": 0.8148148148148148,
                    "recall": 0.43137254901960786,
                    "test_samples": 200,
                    "training_samples": 800
                }
            }
        },
        {
            "block": "registry",
            "position": 3,
            "kind": "register_model",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:33.695Z",
            "ended_at": "2026-11-23T18:38:33.712Z",
            "error": null,
            "logs": [
                "✅ Model registered successfully!",
                "   Model: churn version 2 (v_20261123_183833_2)",
                "   Accuracy: 0.8300",
                "   AUC Score: 0.8883",
                "   Git Commit: f7ac15974fa25134ca55e347dd1fca564e858a9d",
                "   Model artifact: sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed"
            ],
            "preview": {
                "artifacts": {
                    "model": "sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed",
                    "scaler": "sha256:2e75738d47bbd98f7bb65a8be0c35c2116010e16271a9108ed63aac5e8a37bfa",
                    "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
                },
                "label": "v_20261123_183833_2",
                "lineage": {
                    "code_lineage": {
                        "git_branch": "main",
                        "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
                        "git_status": "clean",
                        "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
                    },
                    "data_lineage": {
                        "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                        "version": "data_v_20261123_183833_2"
                    },
                    "pipeline": {
                        "file": "pipelines/demo_mlops/pipeline.yaml",
                        "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
                        "name": "demo_mlops"
                    }
                },
                "model": "churn",
                "stage": "None",
                "version": 2
            }
        },
        {
            "block": "deployment",
            "position": 4,
            "kind": "deploy",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:33.712Z",
            "ended_at": "2026-11-23T18:38:33.714Z",
            "error": null,
            "logs": [
                "✅ Deployed churn version 2 (v_20261123_183833_2) to Production: auc_score 0.8883 >= 0.75"
            ],
            "preview": {
                "deployment": {
                    "created_at": "2026-11-23T18:38:33.714Z",
                    "model": "churn",
                    "reason": "auc_score 0.8883 >= 0.75",
                    "run_id": "1557d247dc3f42b880d6272216198066",
                    "status": "deployed",
                    "version": 2
                }
            }
        }
    ]
}"#,
    )
}

pub fn get_run_200_failed() -> Value {
    parse(
        r#"{
    "id": "33fa7bec75d642e982930a9723cbdaae",
    "pipeline": "t_gate",
    "trigger": "cli",
    "variables": {},
    "status": "failed",
    "holder": "cli-3296",
    "heartbeat_at": "2026-11-23T18:38:36.703Z",
    "created_at": "2026-11-23T18:38:36.697Z",
    "started_at": "2026-11-23T18:38:36.703Z",
    "ended_at": "2026-11-23T18:38:37.224Z",
    "error": "block dep failed: config.gate.metric: version 1 has no metric \"f2\" (known: [\"accuracy\", \"auc_score\", \"f1_score\", \"feature_importance\", \"precision\", \"recall\", \"test_samples\", \"training_samples\"])",
    "summary": {
        "data_hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
        "data_version": "data_v_20261123_183836",
        "metrics": {
            "accuracy": 0.805,
            "auc_score": 0.8387474012474012,
            "f1_score": 0.4935064935064935,
            "precision": 0.76,
            "recall": 0.36538461538461536
        },
        "model": "churn_test",
        "model_version": "v_20261123_183836",
        "model_version_number": 1
    },
    "blocks": [
        {
            "block": "data",
            "position": 0,
            "kind": "synthetic_churn",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:36.704Z",
            "ended_at": "2026-11-23T18:38:36.714Z",
            "error": null,
            "logs": [
                "✅ Loaded 1000 records",
                "   Data Version: data_v_20261123_183836",
                "   Data Hash: sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                "   churn rate: 26.00%",
                "   Shape: (1000, 11)"
            ],
            "preview": {
                "rows": [
                    {
                        "account_age": 1.0,
                        "churn": 0,
                        "contract_length": 1.0,
                        "customer_service_calls": 0.0,
                        "monthly_charges": 94.84,
                        "num_services": 5.0,
                        "payment_method_score": 0.86,
                        "satisfaction_score": 0.65,
                        "support_tickets": 2.0,
                        "total_charges": 99.42,
                        "usage_frequency": 0.74
                    },
                    {
                        "account_age": 1.0,
                        "churn": 0,
                        "contract_length": 1.0,
                        "customer_service_calls": 1.0,
                        "monthly_charges": 58.96,
                        "num_services": 1.0,
                        "payment_method_score": 0.42,
                        "satisfaction_score": 0.84,
                        "support_tickets": 1.0,
                        "total_charges": 54.08,
                        "usage_frequency": 0.77
                    },
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 2.0,
                        "monthly_charges": 35.23,
                        "num_services": 1.0,
                        "payment_method_score": 0.3,
                        "satisfaction_score": 0.54,
                        "support_tickets": 5.0,
                        "total_charges": 35.26,
                        "usage_frequency": 0.02
                    },
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 2.0,
                        "monthly_charges": 67.46,
                        "num_services": 6.0,
                        "payment_method_score": 0.31,
                        "satisfaction_score": 0.43,
                        "support_tickets": 3.0,
                        "total_charges": 73.41,
                        "usage_frequency": 0.82
                    },
                    {
                        "account_age": 1.0,
                        "churn": 1,
                        "contract_length": 1.0,
                        "customer_service_calls": 2.0,
                        "monthly_charges": 69.72,
                        "num_services": 3.0,
                        "payment_method_score": 0.57,
                        "satisfaction_score": 0.32,
                        "support_tickets": 1.0,
                        "total_charges": 65.78,
                        "usage_frequency": 0.18
                    }
                ],
                "schema": [
                    {
                        "missing": 0,
                        "name": "account_age",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "contract_length",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "customer_service_calls",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "monthly_charges",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "num_services",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "payment_method_score",
                        "type": "float"
                    },
                    {
                        "missing": 13,
                        "name": "satisfaction_score",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "support_tickets",
                        "type": "float"
                    },
                    {
                        "missing": 24,
                        "name": "total_charges",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "usage_frequency",
                        "type": "float"
                    },
                    {
                        "missing": 0,
                        "name": "churn",
                        "type": "label"
                    }
                ],
                "stats": {
                    "data_version": "data_v_20261123_183836",
                    "feature_count": 10,
                    "hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                    "label_rate": 0.26,
                    "reused": false,
                    "row_count": 1000
                }
            }
        },
        {
            "block": "prep",
            "position": 1,
            "kind": "preprocess",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:36.715Z",
            "ended_at": "2026-11-23T18:38:36.720Z",
            "error": null,
            "logs": [
                "✅ Split 1000 rows into 800 train / 200 test (stratified, seed 42)",
                "   Imputed 37 missing values with training medians",
                "   Scaled features with a StandardScaler fitted on the training part"
            ],
            "preview": {
                "schema": [
                    {
                        "mean": 36.595,
                        "median": 38.0,
                        "name": "account_age",
                        "scale": 21.357340073145775
                    },
                    {
                        "mean": 9.47125,
                        "median": 12.0,
                        "name": "contract_length",
                        "scale": 8.204064446205964
                    },
                    {
                        "mean": 1.59,
                        "median": 1.0,
                        "name": "customer_service_calls",
                        "scale": 1.898525743833884
                    },
                    {
                        "mean": 65.19257500000002,
                        "median": 64.315,
                        "name": "monthly_charges",
                        "scale": 19.25585069840787
                    },
                    {
                        "mean": 3.49375,
                        "median": 3.0,
                        "name": "num_services",
                        "scale": 1.694095905638168
                    },
                    {
                        "mean": 0.5025500000000004,
                        "median": 0.5,
                        "name": "payment_method_score",
                        "scale": 0.28640006546786956
                    },
                    {
                        "mean": 0.5007874999999999,
                        "median": 0.49,
                        "name": "satisfaction_score",
                        "scale": 0.28445782612498144
                    },
                    {
                        "mean": 2.40625,
                        "median": 2.0,
                        "name": "support_tickets",
                        "scale": 1.7251698285965935
                    },
                    {
                        "mean": 2414.192637500001,
                        "median": 2308.99,
                        "name": "total_charges",
                        "scale": 1609.2314889876527
                    },
                    {
                        "mean": 0.4826250000000002,
                        "median": 0.48,
                        "name": "usage_frequency",
                        "scale": 0.28869553057676534
                    }
                ],
                "stats": {
                    "test_label_rate": 0.26,
                    "test_rows": 200,
                    "train_label_rate": 0.26,
                    "train_rows": 800
                }
            }
        },
        {
            "block": "train",
            "position": 2,
            "kind": "random_forest_classifier",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:36.721Z",
            "ended_at": "2026-11-23T18:38:36.898Z",
            "error": null,
            "logs": [
                "✅ Model trained successfully!",
                "   Trained on 800 samples, tested on 200",
                "   Accuracy: 0.8050",
                "   AUC Score: 0.8387",
                "   Precision 0.7600 / Recall 0.3654 / F1 0.4935",
                "   Top 3 features: [satisfaction_score, customer_service_calls, monthly_charges]"
            ],
            "preview": {
                "hyperparameters": {
                    "bootstrap": true,
                    "max_depth": null,
                    "max_features": "sqrt",
                    "min_samples_leaf": 1,
                    "min_samples_split": 2,
                    "n_estimators": 100,
                    "random_state": 0,
                    "threshold": 0.5
                },
                "metrics": {
                    "accuracy": 0.805,
                    "auc_score": 0.8387474012474012,
                    "f1_score": 0.4935064935064935,
                    "feature_importance": {
                        "account_age": 0.10651118591012332,
                        "contract_length": 0.04519049319280386,
                        "customer_service_calls": 0.1413429737934325,
                        "monthly_charges": 0.1162144447358198,
                        "num_services": 0.04810299243729314,
                        "payment_method_score": 0.09910383868279878,
                        "satisfaction_score": 0.1552155524971474,
                        "support_tickets": 0.06725341136976642,
                        "total_charges": 0.10778654365235348,
                        "usage_frequency": 0.11327856372846132
                    },
                    "precision": 0.76,
                    "recall": 0.36538461538461536,
                    "test_samples": 200,
                    "training_samples": 800
                }
            }
        },
        {
            "block": "reg",
            "position": 3,
            "kind": "register_model",
            "status": "success",
            "attempts": 1,
            "started_at": "2026-11-23T18:38:36.898Z",
            "ended_at": "2026-11-23T18:38:36.921Z",
            "error": null,
            "logs": [
                "✅ Model registered successfully!",
                "   Model: churn_test version 1 (v_20261123_183836)",
                "   Accuracy: 0.8050",
                "   AUC Score: 0.8387",
                "   Git Commit: none",
                "   Model artifact: sha256:d7f897a161b2e2dced6020440a930df3d6a75c0cd3589975d906ab51a0f17d98"
            ],
            "preview": {
                "artifacts": {
                    "model": "sha256:d7f897a161b2e2dced6020440a930df3d6a75c0cd3589975d906ab51a0f17d98",
                    "scaler": "sha256:0614201458c22ca0447010740dce95ff1f092f7469fbbb92c6c3844d54213386",
                    "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
                },
                "label": "v_20261123_183836",
                "lineage": {
                    "code_lineage": {
                        "git_branch": null,
                        "git_commit": null,
                        "git_status": "unknown",
                        "training_block": "pipelines/t_gate/pipeline.yaml#train"
                    },
                    "data_lineage": {
                        "hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                        "version": "data_v_20261123_183836"
                    },
                    "pipeline": {
                        "file": "pipelines/t_gate/pipeline.yaml",
                        "file_hash": "sha256:ead04c66f71c4b0dbaed3c6bf7b8ca9ab38f0edd4634e71a1495b65f34a4abe5",
                        "name": "t_gate"
                    }
                },
                "model": "churn_test",
                "stage": "None",
                "version": 1
            }
        },
        {
            "block": "dep",
            "position": 4,
            "kind": "deploy",
            "status": "failed",
            "attempts": 3,
            "started_at": "2026-11-23T18:38:37.223Z",
            "ended_at": "2026-11-23T18:38:37.224Z",
            "error": "config.gate.metric: version 1 has no metric \"f2\" (known: [\"accuracy\", \"auc_score\", \"f1_score\", \"feature_importance\", \"precision\", \"recall\", \"test_samples\", \"training_samples\"])",
            "logs": [
                "attempt 1 failed: config.gate.metric: version 1 has no metric \"f2\" (known: [\"accuracy\", \"auc_score\", \"f1_score\", \"feature_importance\", \"precision\", \"recall\", \"test_samples\", \"training_samples\"]); retrying in 100 ms",
                "attempt 2 failed: config.gate.metric: version 1 has no metric \"f2\" (known: [\"accuracy\", \"auc_score\", \"f1_score\", \"feature_importance\", \"precision\", \"recall\", \"test_samples\", \"training_samples\"]); retrying in 200 ms",
                "❌ config.gate.metric: version 1 has no metric \"f2\" (known: [\"accuracy\", \"auc_score\", \"f1_score\", \"feature_importance\", \"precision\", \"recall\", \"test_samples\", \"training_samples\"])"
            ]
        }
    ]
}"#,
    )
}

pub fn list_models_200() -> Value {
    parse(
        r#"{
    "models": [
        {
            "description": "",
            "name": "churn",
            "versions": [
                {
                    "artifacts": {
                        "model": "sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed",
                        "scaler": "sha256:2e75738d47bbd98f7bb65a8be0c35c2116010e16271a9108ed63aac5e8a37bfa",
                        "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
                    },
                    "created_at": "2026-11-23T18:38:33.710Z",
                    "dataset_version": "data_v_20261123_183833_2",
                    "hyperparameters": {
                        "bootstrap": true,
                        "max_depth": 10,
                        "max_features": "sqrt",
                        "min_samples_leaf": 1,
                        "min_samples_split": 2,
                        "n_estimators": 100,
                        "random_state": 42,
                        "threshold": 0.5
                    },
                    "label": "v_20261123_183833_2",
                    "lineage": {
                        "code_lineage": {
                            "git_branch": "main",
                            "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
                            "git_status": "clean",
                            "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
                        },
                        "data_lineage": {
                            "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                            "version": "data_v_20261123_183833_2"
                        },
                        "pipeline": {
                            "file": "pipelines/demo_mlops/pipeline.yaml",
                            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
                            "name": "demo_mlops"
                        }
                    },
                    "metrics": {
                        "accuracy": 0.83,
                        "auc_score": 0.8882747729964469,
                        "f1_score": 0.5641025641025641,
                        "feature_importance": {
                            "account_age": 0.14312276756537634,
                            "contract_length": 0.05005500112836099,
                            "customer_service_calls": 0.1552619284693922,
                            "monthly_charges": 0.10880367585232238,
                            "num_services": 0.04265636739297098,
                            "payment_method_score": 0.0794754659018143,
                            "satisfaction_score": 0.1555240929223685,
                            "support_tickets": 0.0540331197296738,
                            "total_charges": 0.1100534018601659,
                            "usage_frequency": 0.1010141791775548
                        },
                        "precision": 0.8148148148148148,
                        "recall": 0.43137254901960786,
                        "test_samples": 200,
                        "training_samples": 800
                    },
                    "model": "churn",
                    "run_id": "1557d247dc3f42b880d6272216198066",
                    "stage": "Archived",
                    "version": 2
                },
                {
                    "artifacts": {
                        "model": "sha256:2d51c7569c916ed9e9a8f1b3630e5ec5ffa847d39f8a01095f511526e20af853",
                        "scaler": "sha256:0614201458c22ca0447010740dce95ff1f092f7469fbbb92c6c3844d54213386",
                        "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
                    },
                    "created_at": "2026-11-23T18:38:33.344Z",
                    "dataset_version": "data_v_20261123_183833",
                    "hyperparameters": {
                        "bootstrap": true,
                        "max_depth": 10,
                        "max_features": "sqrt",
                        "min_samples_leaf": 1,
                        "min_samples_split": 2,
                        "n_estimators": 100,
                        "random_state": 42,
                        "threshold": 0.5
                    },
                    "label": "v_20261123_183833",
                    "lineage": {
                        "code_lineage": {
                            "git_branch": "main",
                            "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
                            "git_status": "clean",
                            "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
                        },
                        "data_lineage": {
                            "hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                            "version": "data_v_20261123_183833"
                        },
                        "pipeline": {
                            "file": "pipelines/demo_mlops/pipeline.yaml",
                            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
                            "name": "demo_mlops"
                        }
                    },
                    "metrics": {
                        "accuracy": 0.825,
                        "auc_score": 0.8623960498960499,
                        "f1_score": 0.5569620253164557,
                        "feature_importance": {
                            "account_age": 0.1162991443893745,
                            "contract_length": 0.04472061944040034,
                            "customer_service_calls": 0.15108926404576778,
                            "monthly_charges": 0.1154005639974758,
                            "num_services": 0.04510231000093661,
                            "payment_method_score": 0.09940501004512768,
                            "satisfaction_score": 0.14985769410367253,
                            "support_tickets": 0.06308079036699814,
                            "total_charges": 0.1022175698519103,
                            "usage_frequency": 0.1128270337583363
                        },
                        "precision": 0.8148148148148148,
                        "recall": 0.4230769230769231,
                        "test_samples": 200,
                        "training_samples": 800
                    },
                    "model": "churn",
                    "run_id": "4971c84c8b9b45df8fa5322ea8e8d8d7",
                    "stage": "Production",
                    "version": 1
                }
            ]
        }
    ]
}"#,
    )
}

pub fn get_model_200() -> Value {
    parse(
        r#"{
    "deployments": [
        {
            "created_at": "2026-11-23T18:38:33.714Z",
            "model": "churn",
            "reason": "auc_score 0.8883 >= 0.75",
            "run_id": "1557d247dc3f42b880d6272216198066",
            "status": "deployed",
            "version": 2
        },
        {
            "created_at": "2026-11-23T18:38:33.346Z",
            "model": "churn",
            "reason": "auc_score 0.8624 >= 0.75",
            "run_id": "4971c84c8b9b45df8fa5322ea8e8d8d7",
            "status": "deployed",
            "version": 1
        }
    ],
    "name": "churn",
    "versions": [
        {
            "artifacts": {
                "model": "sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed",
                "scaler": "sha256:2e75738d47bbd98f7bb65a8be0c35c2116010e16271a9108ed63aac5e8a37bfa",
                "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
            },
            "created_at": "2026-11-23T18:38:33.710Z",
            "dataset_version": "data_v_20261123_183833_2",
            "hyperparameters": {
                "bootstrap": true,
                "max_depth": 10,
                "max_features": "sqrt",
                "min_samples_leaf": 1,
                "min_samples_split": 2,
                "n_estimators": 100,
                "random_state": 42,
                "threshold": 0.5
            },
            "label": "v_20261123_183833_2",
            "lineage": {
                "code_lineage": {
                    "git_branch": "main",
                    "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
                    "git_status": "clean",
                    "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
                },
                "data_lineage": {
                    "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
                    "version": "data_v_20261123_183833_2"
                },
                "pipeline": {
                    "file": "pipelines/demo_mlops/pipeline.yaml",
                    "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
                    "name": "demo_mlops"
                }
            },
            "metrics": {
                "accuracy": 0.83,
                "auc_score": 0.8882747729964469,
                "f1_score": 0.5641025641025641,
                "feature_importance": {
                    "account_age": 0.14312276756537634,
                    "contract_length": 0.05005500112836099,
                    "customer_service_calls": 0.1552619284693922,
                    "monthly_charges": 0.10880367585232238,
                    "num_services": 0.04265636739297098,
                    "payment_method_score": 0.0794754659018143,
                    "satisfaction_score": 0.1555240929223685,
                    "support_tickets": 0.0540331197296738,
                    "total_charges": 0.1100534018601659,
                    "usage_frequency": 0.1010141791775548
                },
                "precision": 0.8148148148148148,
                "recall": 0.43137254901960786,
                "test_samples": 200,
                "training_samples": 800
            },
            "model": "churn",
            "run_id": "1557d247dc3f42b880d6272216198066",
            "stage": "Archived",
            "version": 2
        },
        {
            "artifacts": {
                "model": "sha256:2d51c7569c916ed9e9a8f1b3630e5ec5ffa847d39f8a01095f511526e20af853",
                "scaler": "sha256:0614201458c22ca0447010740dce95ff1f092f7469fbbb92c6c3844d54213386",
                "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
            },
            "created_at": "2026-11-23T18:38:33.344Z",
            "dataset_version": "data_v_20261123_183833",
            "hyperparameters": {
                "bootstrap": true,
                "max_depth": 10,
                "max_features": "sqrt",
                "min_samples_leaf": 1,
                "min_samples_split": 2,
                "n_estimators": 100,
                "random_state": 42,
                "threshold": 0.5
            },
            "label": "v_20261123_183833",
            "lineage": {
                "code_lineage": {
                    "git_branch": "main",
                    "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
                    "git_status": "clean",
                    "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
                },
                "data_lineage": {
                    "hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
                    "version": "data_v_20261123_183833"
                },
                "pipeline": {
                    "file": "pipelines/demo_mlops/pipeline.yaml",
                    "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
                    "name": "demo_mlops"
                }
            },
            "metrics": {
                "accuracy": 0.825,
                "auc_score": 0.8623960498960499,
                "f1_score": 0.5569620253164557,
                "feature_importance": {
                    "account_age": 0.1162991443893745,
                    "contract_length": 0.04472061944040034,
                    "customer_service_calls": 0.15108926404576778,
                    "monthly_charges": 0.1154005639974758,
                    "num_services": 0.04510231000093661,
                    "payment_method_score": 0.09940501004512768,
                    "satisfaction_score": 0.14985769410367253,
                    "support_tickets": 0.06308079036699814,
                    "total_charges": 0.1022175698519103,
                    "usage_frequency": 0.1128270337583363
                },
                "precision": 0.8148148148148148,
                "recall": 0.4230769230769231,
                "test_samples": 200,
                "training_samples": 800
            },
            "model": "churn",
            "run_id": "4971c84c8b9b45df8fa5322ea8e8d8d7",
            "stage": "Production",
            "version": 1
        }
    ]
}"#,
    )
}

pub fn model_transitions_200() -> Value {
    parse(
        r#"{
    "transitions": [
        {
            "actor": "system",
            "created_at": "2026-11-23T18:38:33.345Z",
            "from_stage": "None",
            "model": "churn",
            "reason": "registered",
            "to_stage": "None",
            "version": 1
        },
        {
            "actor": "pipeline:4971c84c8b9b45df8fa5322ea8e8d8d7",
            "created_at": "2026-11-23T18:38:33.345Z",
            "from_stage": "None",
            "model": "churn",
            "reason": "validation gate passed: auc_score 0.8624 >= 0.75",
            "to_stage": "Production",
            "version": 1
        },
        {
            "actor": "system",
            "created_at": "2026-11-23T18:38:33.712Z",
            "from_stage": "None",
            "model": "churn",
            "reason": "registered",
            "to_stage": "None",
            "version": 2
        },
        {
            "actor": "pipeline:1557d247dc3f42b880d6272216198066",
            "created_at": "2026-11-23T18:38:33.713Z",
            "from_stage": "Production",
            "model": "churn",
            "reason": "replaced by version 2",
            "to_stage": "Archived",
            "version": 1
        },
        {
            "actor": "pipeline:1557d247dc3f42b880d6272216198066",
            "created_at": "2026-11-23T18:38:33.713Z",
            "from_stage": "None",
            "model": "churn",
            "reason": "validation gate passed: auc_score 0.8883 >= 0.75",
            "to_stage": "Production",
            "version": 2
        },
        {
            "actor": "alice",
            "created_at": "2026-11-23T18:38:34.997Z",
            "from_stage": "Production",
            "model": "churn",
            "reason": "replaced by version 1",
            "to_stage": "Archived",
            "version": 2
        },
        {
            "actor": "alice",
            "created_at": "2026-11-23T18:38:34.997Z",
            "from_stage": "Archived",
            "model": "churn",
            "reason": "rollback: v2 flags too many loyal customers",
            "to_stage": "Production",
            "version": 1
        }
    ]
}"#,
    )
}

pub fn get_version_200() -> Value {
    parse(
        r#"{
    "model": "churn",
    "version": 2,
    "label": "v_20261123_183833_2",
    "stage": "Production",
    "run_id": "1557d247dc3f42b880d6272216198066",
    "dataset_version": "data_v_20261123_183833_2",
    "artifacts": {
        "model": "sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed",
        "scaler": "sha256:2e75738d47bbd98f7bb65a8be0c35c2116010e16271a9108ed63aac5e8a37bfa",
        "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
    },
    "metrics": {
        "accuracy": 0.83,
        "auc_score": 0.8882747729964469,
        "f1_score": 0.5641025641025641,
        "feature_importance": {
            "account_age": 0.14312276756537634,
            "contract_length": 0.05005500112836099,
            "customer_service_calls": 0.1552619284693922,
            "monthly_charges": 0.10880367585232238,
            "num_services": 0.04265636739297098,
            "payment_method_score": 0.0794754659018143,
            "satisfaction_score": 0.1555240929223685,
            "support_tickets": 0.0540331197296738,
            "total_charges": 0.1100534018601659,
            "usage_frequency": 0.1010141791775548
        },
        "precision": 0.8148148148148148,
        "recall": 0.43137254901960786,
        "test_samples": 200,
        "training_samples": 800
    },
    "hyperparameters": {
        "bootstrap": true,
        "max_depth": 10,
        "max_features": "sqrt",
        "min_samples_leaf": 1,
        "min_samples_split": 2,
        "n_estimators": 100,
        "random_state": 42,
        "threshold": 0.5
    },
    "lineage": {
        "code_lineage": {
            "git_branch": "main",
            "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
            "git_status": "clean",
            "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
        },
        "data_lineage": {
            "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
            "version": "data_v_20261123_183833_2"
        },
        "pipeline": {
            "file": "pipelines/demo_mlops/pipeline.yaml",
            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
            "name": "demo_mlops"
        }
    },
    "created_at": "2026-11-23T18:38:33.710Z"
}"#,
    )
}

pub fn version_lineage_200() -> Value {
    parse(
        r#"{
    "artifacts": {
        "model": "sha256:c1024e6c656692f9c6dc120c8ac89efe2907d32bf361e43c5aca7f30967abfed",
        "scaler": "sha256:2e75738d47bbd98f7bb65a8be0c35c2116010e16271a9108ed63aac5e8a37bfa",
        "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
    },
    "code_lineage": {
        "git_branch": "main",
        "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
        "git_status": "clean",
        "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
    },
    "data_lineage": {
        "churn_rate": 0.254,
        "created_at": "2026-11-23T18:38:33.472Z",
        "feature_count": 10,
        "feature_names": [
            "account_age",
            "contract_length",
            "customer_service_calls",
            "monthly_charges",
            "num_services",
            "payment_method_score",
            "satisfaction_score",
            "support_tickets",
            "total_charges",
            "usage_frequency"
        ],
        "hash": "sha256:bd433d5bd8776c535bdcd49abfa7c82a37646a26866ce4cefa8da5ae9cab9d7b",
        "row_count": 1000,
        "version": "data_v_20261123_183833_2"
    },
    "hyperparameters": {
        "bootstrap": true,
        "max_depth": 10,
        "max_features": "sqrt",
        "min_samples_leaf": 1,
        "min_samples_split": 2,
        "n_estimators": 100,
        "random_state": 42,
        "threshold": 0.5
    },
    "metrics": {
        "accuracy": 0.83,
        "auc_score": 0.8882747729964469,
        "f1_score": 0.5641025641025641,
        "feature_importance": {
            "account_age": 0.14312276756537634,
            "contract_length": 0.05005500112836099,
            "customer_service_calls": 0.1552619284693922,
            "monthly_charges": 0.10880367585232238,
            "num_services": 0.04265636739297098,
            "payment_method_score": 0.0794754659018143,
            "satisfaction_score": 0.1555240929223685,
            "support_tickets": 0.0540331197296738,
            "total_charges": 0.1100534018601659,
            "usage_frequency": 0.1010141791775548
        },
        "precision": 0.8148148148148148,
        "recall": 0.43137254901960786,
        "test_samples": 200,
        "training_samples": 800
    },
    "model": "churn",
    "predictions": {
        "count": 4,
        "history": [
            {
                "output": {
                    "prediction": 1,
                    "probability": {
                        "churn": 0.65,
                        "no_churn": 0.35
                    },
                    "risk_level": "High"
                },
                "prediction_id": "5c0c53fc8d8741d1bca9e960895c6a10",
                "source": "log",
                "time": "2026-11-23T18:38:33.859Z"
            },
            {
                "output": {
                    "model_version": "v_20261123_183833_2",
                    "model_version_number": 2,
                    "prediction": 0,
                    "prediction_id": "271a97b5b4cc46a58a7435e78d6c7025",
                    "prediction_time": "2026-11-23T18:38:33.850Z",
                    "probability": {
                        "churn": 0.010714285714285714,
                        "no_churn": 0.9892857142857144
                    },
                    "risk_level": "Low"
                },
                "prediction_id": "271a97b5b4cc46a58a7435e78d6c7025",
                "source": "predict",
                "time": "2026-11-23T18:38:33.850Z"
            },
            {
                "output": {
                    "model_version": "v_20261123_183833_2",
                    "model_version_number": 2,
                    "prediction": 1,
                    "prediction_id": "bd8a3b04f56e4bc89921519ea3751e66",
                    "prediction_time": "2026-11-23T18:38:33.850Z",
                    "probability": {
                        "churn": 0.8566666666666667,
                        "no_churn": 0.1433333333333333
                    },
                    "risk_level": "High"
                },
                "prediction_id": "bd8a3b04f56e4bc89921519ea3751e66",
                "source": "predict",
                "time": "2026-11-23T18:38:33.850Z"
            },
            {
                "output": {
                    "model_version": "v_20261123_183833_2",
                    "model_version_number": 2,
                    "prediction": 0,
                    "prediction_id": "893fe865dd264b3b88050f595cb2f397",
                    "prediction_time": "2026-11-23T18:38:33.837Z",
                    "probability": {
                        "churn": 0.33222869538908034,
                        "no_churn": 0.6677713046109197
                    },
                    "risk_level": "Medium"
                },
                "prediction_id": "893fe865dd264b3b88050f595cb2f397",
                "source": "predict",
                "time": "2026-11-23T18:38:33.837Z"
            }
        ],
        "last_prediction_time": "2026-11-23T18:38:33.859Z"
    },
    "run_id": "1557d247dc3f42b880d6272216198066",
    "stage": "Production",
    "timestamp": "2026-11-23T18:38:33.710Z",
    "version": "v_20261123_183833_2",
    "version_number": 2
}"#,
    )
}

pub fn transition_version_200() -> Value {
    parse(
        r#"{
    "model": "churn",
    "version": 1,
    "label": "v_20261123_183833",
    "stage": "Production",
    "run_id": "4971c84c8b9b45df8fa5322ea8e8d8d7",
    "dataset_version": "data_v_20261123_183833",
    "artifacts": {
        "model": "sha256:2d51c7569c916ed9e9a8f1b3630e5ec5ffa847d39f8a01095f511526e20af853",
        "scaler": "sha256:0614201458c22ca0447010740dce95ff1f092f7469fbbb92c6c3844d54213386",
        "schema": "sha256:1513d325fd8569263f6b5e7afa0886d3839390a69070ccd824891c34e909604c"
    },
    "metrics": {
        "accuracy": 0.825,
        "auc_score": 0.8623960498960499,
        "f1_score": 0.5569620253164557,
        "feature_importance": {
            "account_age": 0.1162991443893745,
            "contract_length": 0.04472061944040034,
            "customer_service_calls": 0.15108926404576778,
            "monthly_charges": 0.1154005639974758,
            "num_services": 0.04510231000093661,
            "payment_method_score": 0.09940501004512768,
            "satisfaction_score": 0.14985769410367253,
            "support_tickets": 0.06308079036699814,
            "total_charges": 0.1022175698519103,
            "usage_frequency": 0.1128270337583363
        },
        "precision": 0.8148148148148148,
        "recall": 0.4230769230769231,
        "test_samples": 200,
        "training_samples": 800
    },
    "hyperparameters": {
        "bootstrap": true,
        "max_depth": 10,
        "max_features": "sqrt",
        "min_samples_leaf": 1,
        "min_samples_split": 2,
        "n_estimators": 100,
        "random_state": 42,
        "threshold": 0.5
    },
    "lineage": {
        "code_lineage": {
            "git_branch": "main",
            "git_commit": "f7ac15974fa25134ca55e347dd1fca564e858a9d",
            "git_status": "clean",
            "training_block": "pipelines/demo_mlops/pipeline.yaml#training"
        },
        "data_lineage": {
            "hash": "sha256:2f7e680fd89d093e39d1a3708bbb339e4412547d891a6d8bd9fe8794eaf9704a",
            "version": "data_v_20261123_183833"
        },
        "pipeline": {
            "file": "pipelines/demo_mlops/pipeline.yaml",
            "file_hash": "sha256:4f2c3101a94a0696477d807085c5d37ff4cbc7ff085d8a7f3306934518ba58ab",
            "name": "demo_mlops"
        }
    },
    "created_at": "2026-11-23T18:38:33.344Z"
}"#,
    )
}

pub fn list_experiments_200() -> Value {
    parse(
        r#"{
    "experiments": [
        {
            "id": 1,
            "name": "demo_mlops",
            "artifact_location": "mlflow-artifacts:/1",
            "lifecycle_stage": "active",
            "creation_time": 1795452650650,
            "last_update_time": 1795452650650,
            "tags": []
        }
    ]
}"#,
    )
}
