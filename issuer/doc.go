// Package issuer is the vendor's side of seatkey: signing keys (Key,
// GenerateKey, LoadKey, WriteKeyFiles), minting licenses (Key.Mint), and the
// Ledger, an embedded SQLite account of customers, licenses, devices,
// activations and every change. A ledger is made once with CreateLedger and
// opened with OpenLedger, which refuses a path where there is none. The
// ledger activates requests against seats (Ledger.Activate), decommissions
// devices, reports usage (WriteJSON, WriteDeviceCSV, WriteSummaryCSV),
// records revocations and publishes signed revocation lists
// (Ledger.PublishRevocationList), and delivers usage notifications by
// webhook or email (Ledger.Deliver).
//
// Vendor applications never import it; they use package verifier.
package issuer
