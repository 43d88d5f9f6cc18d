//! The BEP 5 parts of the BitTorrent peer wire protocol (placeholder, being written).
