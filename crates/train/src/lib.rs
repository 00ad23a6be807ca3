//! skycase-train (work in progress).
