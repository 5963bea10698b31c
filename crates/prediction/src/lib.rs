//! prediction role
