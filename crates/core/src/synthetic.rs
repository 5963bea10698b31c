//! Synthetic datasets for demos and tests, fully determined by their seed.

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The ten customer features of the churn demo, in the seed document's order.
pub const CHURN_FEATURES: [&str; 10] = [
    "account_age",
    "monthly_charges",
    "total_charges",
    "num_services",
    "customer_service_calls",
    "contract_length",
    "payment_method_score",
    "usage_frequency",
    "support_tickets",
    "satisfaction_score",
];

/// The label column of the churn demo.
pub const CHURN_LABEL: &str = "churn";

/// How to generate churn customers.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnSpec {
    /// Number of customers.
    #[serde(default = "default_rows")]
    pub rows: usize,
    /// Random seed; the same seed gives the same customers.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Expected share of churners.
    #[serde(default = "default_churn_rate")]
    pub churn_rate: f64,
    /// Share of `total_charges` and `satisfaction_score` values left missing (NaN).
    #[serde(default = "default_missing_rate")]
    pub missing_rate: f64,
}

fn default_rows() -> usize {
    1000
}
fn default_seed() -> u64 {
    42
}
fn default_churn_rate() -> f64 {
    0.26
}
fn default_missing_rate() -> f64 {
    0.02
}

impl ChurnSpec {
    /// Check the values, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if !(10..=10_000_000).contains(&self.rows) {
            return Err(Error::invalid_field(
                "rows",
                "must be between 10 and 10000000",
            ));
        }
        if !(self.churn_rate > 0.0 && self.churn_rate < 1.0) {
            return Err(Error::invalid_field(
                "churn_rate",
                "must be strictly between 0 and 1",
            ));
        }
        if !(0.0..0.5).contains(&self.missing_rate) {
            return Err(Error::invalid_field(
                "missing_rate",
                "must be at least 0 and below 0.5",
            ));
        }
        Ok(())
    }
}

/// Generate customers whose churn depends on service calls, satisfaction, tenure, contract,
/// charges, tickets and usage, with an intercept tuned so the expected churn rate is `churn_rate`.
pub fn churn_customers(spec: &ChurnSpec) -> Result<Dataset> {
    spec.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut features = Array2::<f64>::zeros((spec.rows, CHURN_FEATURES.len()));
    let mut risk = Vec::with_capacity(spec.rows);
    for r in 0..spec.rows {
        let account_age = rng.gen_range(1..=72) as f64;
        let monthly_charges = (65.0 + 20.0 * normal(&mut rng)).clamp(18.0, 120.0);
        let total_charges = account_age * monthly_charges * rng.gen_range(0.9..1.1);
        let num_services = rng.gen_range(1..=6) as f64;
        let customer_service_calls = (-2.0 * (1.0 - rng.gen::<f64>()).ln()).floor().min(12.0);
        let contract_length = [1.0, 1.0, 12.0, 12.0, 24.0][rng.gen_range(0..5)];
        let payment_method_score = round2(rng.gen::<f64>());
        let usage_frequency = round2(rng.gen::<f64>());
        let support_tickets = rng.gen_range(0..=5) as f64;
        let satisfaction_score = round2(rng.gen::<f64>());
        let row = [
            account_age,
            round2(monthly_charges),
            round2(total_charges),
            num_services,
            customer_service_calls,
            contract_length,
            payment_method_score,
            usage_frequency,
            support_tickets,
            satisfaction_score,
        ];
        for (c, v) in row.iter().enumerate() {
            features[[r, c]] = *v;
        }
        risk.push(
            SIGNAL
                * (0.45 * (customer_service_calls - 2.0)
                    - 2.2 * (satisfaction_score - 0.5)
                    - 0.035 * (account_age - 36.0)
                    - 0.06 * (contract_length - 10.0)
                    + 0.025 * (monthly_charges - 65.0)
                    + 0.25 * (support_tickets - 2.5)
                    - 1.2 * (usage_frequency - 0.5)
                    - 0.6 * (payment_method_score - 0.5)
                    + 0.5 * normal(&mut rng)),
        );
    }
    let intercept = intercept_for_rate(&risk, spec.churn_rate);
    let labels = risk
        .iter()
        .map(|z| usize::from(rng.gen::<f64>() < sigmoid(z + intercept)))
        .collect();
    for r in 0..spec.rows {
        for c in [2, 9] {
            if rng.gen::<f64>() < spec.missing_rate {
                features[[r, c]] = f64::NAN;
            }
        }
    }
    Dataset::new(
        CHURN_FEATURES.iter().map(|s| s.to_string()).collect(),
        CHURN_LABEL.into(),
        features,
        labels,
    )
}

/// How strongly the features drive churn: high enough that a forest reaches an AUC near the
/// Mage demo's (~0.85), low enough that the problem is not trivial.
const SIGNAL: f64 = 1.8;

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Standard normal draw (Box–Muller), so the stream depends on nothing but the seed.
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The intercept `b` with mean(sigmoid(risk + b)) = rate, by bisection (the mean is monotone in b).
pub(crate) fn intercept_for_rate(risk: &[f64], rate: f64) -> f64 {
    let (mut lo, mut hi) = (-30.0, 30.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        let mean = risk.iter().map(|z| sigmoid(z + mid)).sum::<f64>() / risk.len() as f64;
        if mean < rate {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> ChurnSpec {
        ChurnSpec {
            rows: 1000,
            seed,
            churn_rate: 0.26,
            missing_rate: 0.02,
        }
    }

    /// Values as bits, so that missing values (NaN) compare equal to themselves.
    fn bits(d: &Dataset) -> (Vec<u64>, &[usize]) {
        (d.features.iter().map(|v| v.to_bits()).collect(), &d.labels)
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = churn_customers(&spec(42)).unwrap();
        let b = churn_customers(&spec(42)).unwrap();
        let c = churn_customers(&spec(7)).unwrap();
        assert_eq!(bits(&a), bits(&b));
        assert_ne!(bits(&a), bits(&c));
        assert_eq!(a.feature_names.len(), 10);
    }

    #[test]
    fn churn_rate_is_near_the_target_and_some_values_are_missing() {
        for seed in [1, 42, 99] {
            let d = churn_customers(&spec(seed)).unwrap();
            let rate = d.labels.iter().filter(|&&l| l == 1).count() as f64 / d.labels.len() as f64;
            assert!((rate - 0.26).abs() < 0.04, "rate {rate}");
            let missing = d.features.iter().filter(|v| v.is_nan()).count();
            assert!(missing > 10 && missing < 80, "missing {missing}");
        }
    }

    #[test]
    fn bad_specs_name_the_field() {
        let mut s = spec(1);
        s.churn_rate = 1.5;
        assert_eq!(
            s.validate().unwrap_err().field.as_deref(),
            Some("churn_rate")
        );
        s = spec(1);
        s.rows = 0;
        assert_eq!(s.validate().unwrap_err().field.as_deref(), Some("rows"));
    }
}
