"""A Mage data loader, as Mage writes it: it runs unchanged in Mage and in ironmage.

Generates telecom customers with a churn label that depends on their contract, charges and
support calls. `rows` and `seed` come from the pipeline's variables.
"""
import numpy as np
import pandas as pd

if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@data_loader
def load_data(*args, **kwargs):
    rows = int(kwargs.get('rows', 1000))
    rng = np.random.default_rng(int(kwargs.get('seed', 42)))

    account_age = rng.integers(1, 72, rows)
    monthly_charges = rng.normal(65, 20, rows).clip(20, 120).round(2)
    contract = rng.choice(['month-to-month', 'one_year', 'two_year'], rows, p=[0.55, 0.25, 0.2])
    calls = rng.poisson(2, rows)
    satisfaction = rng.beta(5, 2, rows).round(3)

    risk = (
        -1.2
        + 1.4 * (contract == 'month-to-month')
        + 0.35 * calls
        - 2.5 * (satisfaction - 0.7)
        + 0.015 * (monthly_charges - 65)
        - 0.02 * account_age
    )
    churn = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)

    df = pd.DataFrame({
        'account_age': account_age,
        'monthly_charges': monthly_charges,
        'total_charges': (account_age * monthly_charges).round(2),
        'contract': contract,
        'customer_service_calls': calls,
        'satisfaction_score': satisfaction,
        'churn': churn,
    })
    # Some customers never answered the satisfaction survey.
    df.loc[rng.random(rows) < 0.03, 'satisfaction_score'] = None
    print(f'loaded {len(df)} customers, churn rate {df.churn.mean():.1%}')
    return df


@test
def test_output(output, *args) -> None:
    assert output is not None, 'The output is undefined'
    assert len(output) > 0, 'No customers loaded'
    assert set(output['churn'].unique()) <= {0, 1}, 'churn must be 0 or 1'
