"""A Mage transformer, as Mage writes it: it runs unchanged in Mage and in ironmage.

Adds the features the model trains on and one-hot encodes the contract, so that every column
the built-in trainer sees is numeric.
"""
import pandas as pd

if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@transformer
def transform(df: pd.DataFrame, *args, **kwargs) -> pd.DataFrame:
    calls_weight = float(kwargs.get('calls_weight', 1.0))
    df = df.copy()
    df['charges_per_month'] = (df['total_charges'] / df['account_age']).round(4)
    df['complaints'] = calls_weight * df['customer_service_calls']
    df['unhappy_caller'] = (
        (df['customer_service_calls'] >= 3) & (df['satisfaction_score'] < 0.4)
    ).astype(int)
    df = pd.get_dummies(df, columns=['contract'], dtype=int)
    print(f'{df.shape[1]} columns after feature engineering (calls weight {calls_weight})')
    return df


@test
def test_no_text_left(output, *args) -> None:
    text = [c for c in output.columns if output[c].dtype == object]
    assert not text, f'text columns left for the trainer: {text}'
