//! Customs officers' review UI and API of bondgate.
