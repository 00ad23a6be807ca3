//! skycase-core
