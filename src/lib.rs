//! The skycase browser app: a Leptos page ([`app`]) and a web worker ([`worker`]) that
//! holds the text encoder and the shards. Both are built for wasm32 by Trunk from
//! `index.html`; `skycase-core` does the encoding and ranking, exactly as the companion.

pub mod app;
pub mod basemap;
pub mod case;
pub mod fetch;
pub mod i18n;
pub mod offline;
pub mod protocol;
pub mod startup;
pub mod url;
pub mod verified;
pub mod worker;
pub mod apng;
pub mod zip;
