//! Merchant intake API of bondgate: CEB XML and JSON documents over HTTP.
