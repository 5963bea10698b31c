"""Fixtures for the MLflow compatibility suite.

The suite talks to a running ironmage (scripts/mlflow-tests.sh starts one) only through the
official `mlflow` client; MLFLOW_TRACKING_URI points at it.
"""

import os
import uuid

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session", autouse=True)
def tracking_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    assert uri.startswith("http://"), "set MLFLOW_TRACKING_URI to a running ironmage"
    mlflow.set_tracking_uri(uri)
    return uri


@pytest.fixture
def client():
    return MlflowClient()


@pytest.fixture
def unique():
    """A fresh name suffix, so tests do not see each other's objects."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def data():
    """Seed 003's synthetic data: 1000 rows, 20 features, fixed seeds."""
    x, y = make_classification(n_samples=1000, n_features=20, random_state=42)
    return train_test_split(x, y, test_size=0.2, random_state=42)


def train(data, n_estimators):
    x_train, _, y_train, _ = data
    model = RandomForestClassifier(n_estimators=n_estimators, max_depth=6, random_state=42)
    return model.fit(x_train, y_train)
