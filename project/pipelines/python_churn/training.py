"""training: a scikit-learn RandomForestClassifier, with its metrics on the held-out rows.

The block returns the fitted model with its metrics and params; ironmage saves it as an MLflow
model (mlflow.sklearn), logs the metrics and params on the run, and the register_model block
downstream registers it. Imputing and scaling are steps of the served pipeline, so a request
carries raw customer values.
"""
import pandas as pd

if 'custom' not in globals():
    from mage_ai.data_preparation.decorators import custom
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@custom
def train(df: pd.DataFrame, *args, **kwargs):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    features = [c for c in df.columns if c not in ('churn', 'split')]
    train, held_out = df[df.split == 'train'], df[df.split == 'test']
    params = {
        'n_estimators': int(kwargs.get('n_estimators', 100)),
        'max_depth': int(kwargs.get('max_depth', 10)),
        'random_state': int(kwargs.get('seed', 42)),
    }
    model = Pipeline([
        ('impute', SimpleImputer(strategy='median')),
        ('scale', StandardScaler()),
        ('forest', RandomForestClassifier(**params, n_jobs=1)),
    ])
    model.fit(train[features], train['churn'])

    predicted = model.predict(held_out[features])
    probability = model.predict_proba(held_out[features])[:, 1]
    y = held_out['churn']
    metrics = {
        'accuracy': accuracy_score(y, predicted),
        'auc_score': roc_auc_score(y, probability),
        'precision': precision_score(y, predicted, zero_division=0),
        'recall': recall_score(y, predicted, zero_division=0),
        'f1_score': f1_score(y, predicted, zero_division=0),
        'training_samples': len(train),
        'test_samples': len(held_out),
    }
    print(f"accuracy {metrics['accuracy']:.4f}, AUC {metrics['auc_score']:.4f} "
          f"on {len(held_out)} held-out customers")
    return {
        'model': model,
        'metrics': metrics,
        'params': params,
        'input_example': held_out[features].head(5),
    }


@test
def test_auc(output, *args) -> None:
    assert output['metrics']['auc_score'] > 0.5, 'the model does no better than chance'
