//! skycase web app
