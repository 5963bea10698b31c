"""preprocessing: clean the customers and hold out the test split (80/20, stratified).

What the model must replay on every request (imputing missing values, scaling) is fitted in
training, inside the scikit-learn pipeline that gets served; this block only does what
concerns the training data itself: duplicates, impossible values, and the split, marked in a
`split` column so that the next block trains and tests on exactly these rows.
"""
import numpy as np
import pandas as pd

if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@transformer
def preprocess(df: pd.DataFrame, *args, **kwargs) -> pd.DataFrame:
    from sklearn.model_selection import train_test_split

    before = len(df)
    df = df.drop_duplicates().dropna(subset=['churn']).reset_index(drop=True)
    df['monthly_charges'] = df['monthly_charges'].clip(lower=0)
    df['total_charges'] = df['total_charges'].clip(lower=0)
    _, test_rows = train_test_split(
        np.arange(len(df)),
        test_size=float(kwargs.get('test_size', 0.2)),
        random_state=int(kwargs.get('seed', 42)),
        stratify=df['churn'],
    )
    df['split'] = 'train'
    df.loc[test_rows, 'split'] = 'test'
    missing = int(df.drop(columns=['churn', 'split']).isna().sum().sum())
    print(f'{before - len(df)} rows dropped, {missing} missing values left for the imputer; '
          f'{(df.split == "train").sum()} train rows, {(df.split == "test").sum()} test rows')
    return df


@test
def test_split(output, *args) -> None:
    assert set(output['split']) == {'train', 'test'}, 'both parts must have rows'
