"""make_dataset: synthetic telecom customers, as seed 000's demo generates them.

Ten numeric features and a churn label that depends on them; the same `seed` gives the same
rows. ironmage versions the returned table (hash and data version) for the model's lineage.
"""
import numpy as np
import pandas as pd

if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@data_loader
def make_dataset(*args, **kwargs) -> pd.DataFrame:
    rows = int(kwargs.get('rows', 1000))
    rng = np.random.default_rng(int(kwargs.get('seed', 42)))

    account_age = rng.integers(1, 72, rows)
    monthly_charges = rng.normal(65, 20, rows).clip(20, 120).round(2)
    df = pd.DataFrame({
        'account_age': account_age,
        'monthly_charges': monthly_charges,
        'total_charges': (account_age * monthly_charges).round(2),
        'num_services': rng.integers(1, 7, rows),
        'customer_service_calls': rng.poisson(2, rows),
        'contract_length': rng.choice([1, 12, 24], rows, p=[0.55, 0.25, 0.2]),
        'payment_method_score': rng.uniform(0, 1, rows).round(3),
        'usage_frequency': rng.beta(2, 2, rows).round(3),
        'support_tickets': rng.poisson(1, rows),
        'satisfaction_score': rng.beta(5, 2, rows).round(3),
    })
    # About a quarter of them churn (seed 000's 26%), more so on monthly contracts, after
    # support calls and tickets, when unhappy, paying more, newer, or using the service less.
    risk = -4.0 + 3.0 * (
        1.3 * (df.contract_length == 1)
        + 0.35 * df.customer_service_calls
        + 0.25 * df.support_tickets
        - 3.0 * (df.satisfaction_score - 0.7)
        + 0.02 * (df.monthly_charges - 65)
        - 0.03 * df.account_age
        - 1.0 * (df.usage_frequency - 0.5)
    )
    df['churn'] = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    # Some customers never answered the satisfaction survey: preprocessing's imputer fills them.
    df.loc[rng.random(rows) < 0.02, 'satisfaction_score'] = np.nan
    print(f'{len(df)} customers, {df.shape[1] - 1} features, churn rate {df.churn.mean():.2%}')
    return df


@test
def test_output(output, *args) -> None:
    assert len(output) > 0, 'no customers generated'
    assert set(output['churn'].unique()) <= {0, 1}, 'churn must be 0 or 1'
