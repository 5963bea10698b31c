//! Synthetic stand-ins for datasets that cannot be shipped: Kaggle's "Give Me Some Credit"
//! (same columns, a realistic ~6.7% default rate, missing incomes and dependents) and a
//! Rossmann-like daily store sales table. Both are fully determined by their seed.

use crate::error::{Error, Result};
use crate::synthetic::{intercept_for_rate, normal, sigmoid};
use crate::table::{Column, Table};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The label of the credit table.
pub const CREDIT_LABEL: &str = "SeriousDlqin2yrs";
/// Every column of the credit table, label first.
pub const CREDIT_COLUMNS: [&str; 11] = [
    CREDIT_LABEL,
    "RevolvingUtilizationOfUnsecuredLines",
    "age",
    "NumberOfTime30-59DaysPastDueNotWorse",
    "DebtRatio",
    "MonthlyIncome",
    "NumberOfOpenCreditLinesAndLoans",
    "NumberOfTimes90DaysLate",
    "NumberRealEstateLoansOrLines",
    "NumberOfTime60-89DaysPastDueNotWorse",
    "NumberOfDependents",
];
/// The target of the sales table.
pub const SALES_TARGET: &str = "Sales";

/// How to generate a synthetic table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Number of rows.
    #[serde(default = "default_rows")]
    pub rows: usize,
    /// Random seed; the same seed gives the same rows.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_rows() -> usize {
    5000
}
fn default_seed() -> u64 {
    42
}

impl TableSpec {
    /// Check the values, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if !(50..=5_000_000).contains(&self.rows) {
            return Err(Error::invalid_field(
                "rows",
                "must be between 50 and 5000000",
            ));
        }
        Ok(())
    }
}

/// Borrowers with the Give Me Some Credit columns; `SeriousDlqin2yrs` is 1 for ~6.7% of them.
pub fn credit_borrowers(spec: &TableSpec) -> Result<Table> {
    spec.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n = spec.rows;
    let mut cols: Vec<Vec<f64>> = (0..10).map(|_| Vec::with_capacity(n)).collect();
    let mut risk = Vec::with_capacity(n);
    let count = |rng: &mut ChaCha8Rng, mean: f64| -> f64 {
        // Geometric counts: mostly 0, a long tail, as in the real data.
        let p = 1.0 / (1.0 + mean);
        ((1.0 - rng.gen::<f64>()).ln() / (1.0 - p).ln())
            .floor()
            .min(20.0)
    };
    for _ in 0..n {
        let trouble = normal(&mut rng);
        let utilization = if rng.gen::<f64>() < 0.02 {
            rng.gen_range(1.0..50.0)
        } else {
            sigmoid(trouble * 1.3 - 0.8 + 0.8 * normal(&mut rng))
        };
        let age = (52.0 + 15.0 * normal(&mut rng)).clamp(21.0, 95.0).round();
        let late_scale = (0.6 * trouble).exp();
        let late_30 = count(&mut rng, 0.25 * late_scale);
        let late_60 = count(&mut rng, 0.06 * late_scale);
        let late_90 = count(&mut rng, 0.07 * late_scale);
        let debt_ratio = (-1.0 + 0.9 * normal(&mut rng)).exp();
        let income = (8.6 + 0.6 * normal(&mut rng)).exp().round();
        let open_lines = count(&mut rng, 7.5);
        let real_estate = count(&mut rng, 0.9).min(8.0);
        let dependents = count(&mut rng, 0.7).min(8.0);
        risk.push(
            1.6 * utilization.min(1.5) + 0.5 * late_30 + 0.9 * late_60 + 1.1 * late_90
                - 0.025 * (age - 52.0)
                - 0.35 * (income.ln() - 8.6)
                + 0.2 * debt_ratio.min(3.0)
                + 0.3 * normal(&mut rng),
        );
        let income_missing = rng.gen::<f64>() < 0.198;
        let dependents_missing = rng.gen::<f64>() < 0.026;
        let row = [
            utilization,
            age,
            late_30,
            debt_ratio,
            if income_missing { f64::NAN } else { income },
            open_lines,
            late_90,
            real_estate,
            late_60,
            if dependents_missing {
                f64::NAN
            } else {
                dependents
            },
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push((v * 1e6).round() / 1e6);
        }
    }
    let intercept = intercept_for_rate(&risk, 0.067);
    let label: Vec<f64> = risk
        .iter()
        .map(|z| f64::from(u8::from(rng.gen::<f64>() < sigmoid(z + intercept))))
        .collect();
    let mut columns = vec![Column::number(CREDIT_LABEL, label)];
    columns.extend(
        CREDIT_COLUMNS[1..]
            .iter()
            .zip(cols)
            .map(|(name, v)| Column::number(*name, v)),
    );
    Table::new(columns)
}

/// Daily sales of open stores: store traits (type, assortment, competition) set a base level,
/// day of week, promotions, holidays and the month scale it, and noise of a few percent remains.
pub fn store_sales(spec: &TableSpec) -> Result<Table> {
    spec.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let stores = (spec.rows / 100).clamp(5, 200);
    let store_traits: Vec<(usize, usize, f64)> = (0..stores)
        .map(|_| {
            let kind = rng.gen_range(0..4);
            let assortment = rng.gen_range(0..3);
            let distance = (7.5 + 1.2 * normal(&mut rng)).exp().round();
            (kind, assortment, distance)
        })
        .collect();
    const TYPES: [&str; 4] = ["a", "b", "c", "d"];
    const ASSORTMENTS: [&str; 3] = ["basic", "extra", "extended"];
    const DAY_FACTOR: [f64; 7] = [1.18, 1.02, 0.98, 0.97, 1.03, 0.92, 0.6];
    let mut c: Vec<Vec<f64>> = (0..7).map(|_| Vec::with_capacity(spec.rows)).collect();
    let (mut types, mut assortments) = (Vec::new(), Vec::new());
    for _ in 0..spec.rows {
        let store = rng.gen_range(0..stores);
        let (kind, assortment, distance) = store_traits[store];
        let day = rng.gen_range(1..=7);
        let month = rng.gen_range(1..=12);
        let promo = f64::from(u8::from(day <= 5 && rng.gen::<f64>() < 0.45));
        let holiday = f64::from(u8::from(rng.gen::<f64>() < 0.03));
        let school = f64::from(u8::from(rng.gen::<f64>() < 0.18));
        let base = [5800.0, 9800.0, 6200.0, 6900.0][kind] * [1.0, 1.15, 1.3][assortment];
        let competition = 1.0 - 0.12 * (-distance / 2500.0).exp();
        let season = if month == 12 {
            1.25
        } else {
            1.0 + 0.03 * ((month as f64) / 12.0 * std::f64::consts::TAU).sin()
        };
        let sales = base
            * DAY_FACTOR[day - 1]
            * (1.0 + 0.22 * promo)
            * (1.0 - 0.25 * holiday)
            * (1.0 + 0.04 * school)
            * competition
            * season
            * (0.035 * normal(&mut rng)).exp();
        let row = [
            (store + 1) as f64,
            day as f64,
            promo,
            holiday,
            school,
            month as f64,
            sales.round(),
        ];
        for (col, v) in c.iter_mut().zip(row) {
            col.push(v);
        }
        types.push(Some(TYPES[kind].to_string()));
        assortments.push(Some(ASSORTMENTS[assortment].to_string()));
    }
    // Rossmann lacks a few competition distances: about 1% here.
    let distance: Vec<f64> = c[0]
        .iter()
        .map(|&s| store_traits[s as usize - 1].2)
        .enumerate()
        .map(|(i, d)| {
            if (i as u64 * 7919 + spec.seed).is_multiple_of(97) {
                f64::NAN
            } else {
                d
            }
        })
        .collect();
    let mut it = c.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Table::new(vec![
        Column::number("Store", next()),
        Column::number("DayOfWeek", next()),
        Column::number("Promo", next()),
        Column::number("StateHoliday", next()),
        Column::number("SchoolHoliday", next()),
        Column::number("Month", next()),
        Column::number(SALES_TARGET, next()),
        Column::text("StoreType", types),
        Column::text("Assortment", assortments),
        Column::number("CompetitionDistance", distance),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_has_the_kaggle_columns_and_rate() {
        let spec = TableSpec {
            rows: 20_000,
            seed: 42,
        };
        let t = credit_borrowers(&spec).unwrap();
        assert_eq!(t.columns().len(), 11);
        let label = t.column(CREDIT_LABEL).unwrap().numbers().unwrap();
        let rate = label.iter().sum::<f64>() / label.len() as f64;
        assert!((rate - 0.067).abs() < 0.01, "rate {rate}");
        let income = t.column("MonthlyIncome").unwrap().values.missing();
        assert!(income > 3000 && income < 5000, "missing incomes {income}");
        assert!(t.column("NumberOfDependents").unwrap().values.missing() > 200);
        assert_eq!(
            credit_borrowers(&spec).unwrap().fingerprint(),
            t.fingerprint()
        );
        assert_ne!(
            credit_borrowers(&TableSpec { seed: 1, ..spec })
                .unwrap()
                .fingerprint(),
            t.fingerprint()
        );
    }

    #[test]
    fn sales_are_positive_and_deterministic() {
        let spec = TableSpec {
            rows: 2000,
            seed: 7,
        };
        let t = store_sales(&spec).unwrap();
        assert!(t
            .column(SALES_TARGET)
            .unwrap()
            .numbers()
            .unwrap()
            .iter()
            .all(|&s| s > 500.0));
        assert_eq!(store_sales(&spec).unwrap().fingerprint(), t.fingerprint());
        assert!(TableSpec { rows: 1, seed: 0 }.validate().is_err());
    }
}
