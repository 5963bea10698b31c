//! web role
