//! scheduler role
