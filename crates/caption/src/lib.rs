//! skycase-caption (work in progress).
