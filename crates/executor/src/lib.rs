//! executor role
